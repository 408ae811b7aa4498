"""The list-then-watch loop: resumes from the server's resourceVersion as given, relists at once on 410."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

from dagwright.kube.http import KubeHttp
from dagwright.kube.retry import NO_RETRY
from dagwright.kube.watch import LabelWatch

from .scripted import Answer, ScriptedApiServer, status


def job(name: str, version: str) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": version}}


def test_a_410_in_the_stream_relists_at_once_and_versions_pass_through_untouched(caplog):
    script = [
        Answer(200, {"metadata": {"resourceVersion": "zz-9"}, "items": [job("a", "zz-8")]}),
        Answer(200, [{"type": "MODIFIED", "object": job("a", "aa/10")},
                     {"type": "ERROR", "object": status(410, "Expired", "too old resource version")}]),
        Answer(200, {"metadata": {"resourceVersion": "k7"}, "items": [job("a", "k6")]}),
        Answer(200, [{"type": "BOOKMARK", "object": job("", "k8")}], delay=0.05),
    ]
    lists: list[list[str]] = []
    events: list[tuple[str, str]] = []
    relisted = threading.Event()

    def on_list(_namespace, items):
        lists.append([i["metadata"]["name"] for i in items])
        if len(lists) == 2:
            relisted.set()

    with ScriptedApiServer(*script) as server:
        watch = LabelWatch(KubeHttp(server.configuration(), retry=NO_RETRY), "jobs",
                           lambda ns: f"/apis/batch/v1/namespaces/{ns}/jobs", "dagwright.io/run", ["ns"],
                           on_list, lambda kind, obj: events.append((kind, obj["metadata"]["resourceVersion"])))
        watch.start()
        assert relisted.wait(5)
        time.sleep(0.2)
        watch.stop()
    queries = [parse_qs(urlsplit(seen.path).query) for seen in server.seen]
    assert lists[:2] == [["a"], ["a"]] and events[0] == ("MODIFIED", "aa/10")
    assert not [r for r in caplog.records if "retrying in" in r.getMessage()]  # Gone is no failure: no backoff
    assert queries[1]["resourceVersion"] == ["zz-9"] and queries[3]["resourceVersion"] == ["k7"]
    assert queries[4]["resourceVersion"] == ["k8"]  # resumed from the bookmark's version, as sent
    assert all(q["labelSelector"] == ["dagwright.io/run"] for q in queries)
