"""A task attempt's log tail for the web view: read once, when someone opens the task.

The pod is found by labels (run, task, attempt), as `dagwright logs` finds it, so Jobs named by
an older version are found too. When the pod is gone (a timed-out attempt's pod is deleted),
the last lines the operator kept on the Job (`dagwright.io/log-tail`) are shown instead. When
the API server cannot give a log (no pod, a node without logs, no right to read them) the
answer says why, in its own words. Blocking: the app calls it in a thread.
"""

from __future__ import annotations

from typing import Any

from dagwright.api.names import label_value
from dagwright.api.vocabulary import ANNOTATION_LOG_TAIL, LABEL_ATTEMPT, LABEL_RUN, LABEL_TASK
from dagwright.kube import resources
from dagwright.kube.errors import ApiError
from dagwright.ui.cache import ClusterCache

TAIL_LINES = 100
TAIL_BYTES = 64 * 1024


def log_tail(cache: ClusterCache, namespace: str, run: str, task: str, attempt: int | None) -> dict[str, Any]:
    """{attempt, pod, job, tail, kept, error}: `tail` from the pod, `kept` from the Job's annotation."""
    jobs = sorted(cache.attempts_of(namespace, run).get(task, []), key=lambda j: j.attempt)
    if attempt is None:
        attempt = jobs[-1].attempt if jobs else 1
    job = next((j.name for j in jobs if j.attempt == attempt), "")
    answer: dict[str, Any] = {"task": task, "attempt": attempt, "job": job, "pod": "", "tail": None, "kept": None,
                              "error": ""}
    selector = f"{LABEL_RUN}={label_value(run)},{LABEL_TASK}={task},{LABEL_ATTEMPT}={attempt}"
    try:
        pods = resources.list_pods(cache.http, namespace, selector)
        if job:
            kept = ((resources.get_job(cache.http, namespace, job) or {}).get("metadata", {}).get("annotations")
                    or {}).get(ANNOTATION_LOG_TAIL)
            answer["kept"] = kept
        if not pods:
            answer["error"] = f"no pod with labels {selector}"
            return answer
        answer["pod"] = pods[0]["metadata"]["name"]
        answer["tail"] = resources.pod_log_tail(cache.http, namespace, answer["pod"], TAIL_LINES, TAIL_BYTES)
    except ApiError as error:
        answer["error"] = f"the API server gave no log: {error.message}"
    return answer
