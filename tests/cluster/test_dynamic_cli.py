"""The CLI on dynamic runs against a real API server: a fan-out as one line with counts
(`--expand`: its instances), a child run's tree under its task, and retry-from-failure with
workflow tasks (a Succeeded child reused, a failed one run again)."""

from __future__ import annotations

from dagwright.api.names import child_run_name

from .kube import container_task as task
from .test_cli import cli


def test_get_shows_a_fan_out_as_one_line_with_counts_and_expand_lists_its_instances(kube, operator, kube_env):
    codes = [{"code": "0"}, {"code": "0"}, {"code": "4"}, {"code": "0"}, {"code": "0"}]  # item 2 fails
    spec = {"tasks": [{"name": "each", "forEach": {"items": codes, "allowedFailures": 1},
                       "container": {"image": "busybox:1.36", "args": ["{{ item.code }}"]},
                       "podTemplate": {"metadata": {"annotations": {"sim.dagwright.io/exit-code": "{{ item.code }}"}}}}]}
    kube.create_run("fan", spec=spec)
    assert kube.wait_for_phase("fan")["status"]["phase"] == "Succeeded"
    plain = cli(kube_env, kube.ns, "get", "fan")
    assert plain.returncode == 0, plain.stderr
    line = next(line for line in plain.stdout.splitlines() if "each" in line)
    assert "×5" in line and "5 items: 4 succeeded, 1 failed" in line, plain.stdout
    assert "each[" not in plain.stdout
    expanded = cli(kube_env, kube.ns, "get", "fan", "--expand").stdout
    rows = [line for line in expanded.splitlines() if "each[" in line]
    assert len(rows) == 5, expanded
    assert "Failed" in rows[2] and "exit code 4" in rows[2]
    watch = cli(kube_env, kube.ns, "watch", "fan")  # a pipe: one line per change, then the view
    assert watch.returncode == 0 and "5 items: 4 succeeded, 1 failed" in watch.stdout, watch.stdout


def test_get_draws_the_child_tree_and_retry_reuses_a_succeeded_child_and_reruns_a_failed_one(kube, operator, kube_env):
    kube.apply_workflow("good", {"tasks": [task("g1"), task("g2", ["g1"])]})
    kube.apply_workflow("bad", {"tasks": [task("b1", annotations={"sim.dagwright.io/exit-code": "2"})]})
    spec = {"tasks": [{"name": "ok", "workflow": {"name": "good"}}, {"name": "ko", "workflow": {"name": "bad"}}]}
    kube.apply_workflow("parent", spec)
    kube.create_run("p", workflow="parent")
    assert kube.wait_for_phase("p")["status"]["phase"] == "Failed"
    shown = cli(kube_env, kube.ns, "get", "p").stdout
    lines = shown.splitlines()
    at = next(i for i, line in enumerate(lines) if f"⤷ {child_run_name('p', 'ok')}" in line)
    assert "g1" in lines[at + 1] and "g2" in lines[at + 2], shown
    assert any(f"⤷ {child_run_name('p', 'ko')}" in line and "Failed" in line for line in lines), shown

    # `bad` is fixed; the retry reuses ok (and its child) and starts a new child for ko
    kube.patch_workflow("bad", {"spec": {"tasks": [task("b1")]}})
    assert cli(kube_env, kube.ns, "retry", "p").returncode == 0
    retry = kube.wait_for_phase("p-retry-1")
    assert retry["status"]["phase"] == "Succeeded", retry["status"]
    assert retry["status"]["tasks"]["ok"]["message"] == "reused from p"
    assert retry["status"]["tasks"]["ok"]["run"] == child_run_name("p", "ok")
    assert retry["status"]["tasks"]["ko"]["run"] == child_run_name("p-retry-1", "ko")
    names = {r["metadata"]["name"] for r in kube.custom.list_namespaced_custom_object(
        "dagwright.io", "v1alpha1", kube.ns, "workflowruns")["items"]}
    assert child_run_name("p-retry-1", "ok") not in names  # the succeeded child was not run again
