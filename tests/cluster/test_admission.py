"""The validating admission webhook: `kubectl apply` of a broken manifest fails, naming the problem."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from .operator_process import OperatorProcess, free_port, operator_env

WEBHOOK_CONFIGURATION = "validate.dagwright.io"


@pytest.fixture
def webhook_operator(kubeconfig, kube_env, namespace, crds, tmp_path):
    """An operator serving the webhook on loopback; the webhook configuration is removed after."""
    proc = OperatorProcess(kubeconfig, [namespace], tmp_path / "operator.log", operator_env(kube_env))
    port = free_port()
    proc.extra_args = ["--webhook", "--webhook-port", str(port), "--webhook-listen", "127.0.0.1",
                       "--webhook-host", "127.0.0.1", "--webhook-cert-dir", str(tmp_path / "certs")]
    proc.start()
    wait_for_webhook(kube_env, namespace)
    yield proc
    proc.stop()
    subprocess.run(["kubectl", "delete", "validatingwebhookconfiguration", WEBHOOK_CONFIGURATION,
                    "--ignore-not-found"], env=kube_env, capture_output=True, timeout=30)


def apply(kube_env, namespace: str, manifest: str) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "-n", namespace, "apply", "-f", "-"], input=textwrap.dedent(manifest),
                          env=kube_env, capture_output=True, text=True, timeout=30)


def wait_for_webhook(kube_env, namespace: str) -> None:
    """Until the webhook answers: a cyclic Workflow is refused (it is created before that)."""
    import time

    cyclic = WORKFLOW.format(name="probe", tasks="""
        - {name: a, dependsOn: [b], container: {image: x}}
        - {name: b, dependsOn: [a], container: {image: x}}""")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = apply(kube_env, namespace, cyclic)
        if result.returncode != 0 and "cycle" in result.stderr:
            return
        subprocess.run(["kubectl", "-n", namespace, "delete", "workflow", "probe", "--ignore-not-found"],
                       env=kube_env, capture_output=True, timeout=30)
        time.sleep(0.5)
    raise AssertionError("the admission webhook did not start refusing cyclic workflows in 30s")


WORKFLOW = """
apiVersion: dagwright.io/v1alpha1
kind: Workflow
metadata: {{name: {name}}}
spec:
  tasks:{tasks}
"""


@pytest.mark.parametrize("tasks, extra, expected", [
    ("""
        - {name: a, dependsOn: [ghost], container: {image: x}}""", "", "unknown task 'ghost'"),
    ("""
        - {name: a, dependsOn: [c], container: {image: x}}
        - {name: b, dependsOn: [a], container: {image: x}}
        - {name: c, dependsOn: [b], container: {image: x}}""", "", "dependency cycle"),
    ("""
        - {name: a, container: {image: x, args: ["{{{{ params.missing }}}}"]}}""", "", "params.missing"),
    ("""
        - {name: a, container: {image: x}}""", "  schedule: '61 * * * *'\n", "spec.schedule"),
    ("""
        - {name: a, container: {image: x}}""", "  timezone: Mars/Olympus\n", "Mars/Olympus"),
    ("""
        - {name: a, container: {image: x}}""", "  notifications: [{'on': [DeadlineMissed], webhook: {url: 'http://x'}}]\n",
     "DeadlineMissed needs spec.deadline"),
    ("""
        - {name: a, container: {image: x}}
        - {name: b, dependsOn: [a], when: "tasks.a.outputs.n >> 1", container: {image: x}}""", "",
     "spec.tasks[1] (b).when: expected a value, found '>' at position 20"),
    ("""
        - {name: a, container: {image: x}}
        - {name: b, when: "params.day == 'sat'", container: {image: x}}""", "",
     "spec.tasks[1] (b).when: unknown parameter 'params.day' (not declared in spec.params) at position 1"),
], ids=["an unknown dependency", "a cycle", "an unknown parameter", "an invalid cron", "an unknown time zone",
        "a DeadlineMissed notification without a deadline", "a when: syntax error", "a when: unknown name"])
def test_kubectl_apply_of_a_broken_workflow_fails_naming_the_problem(kube_env, namespace, webhook_operator,
                                                                     tasks, extra, expected):
    result = apply(kube_env, namespace, WORKFLOW.format(name="broken", tasks=tasks) + extra)
    assert result.returncode != 0
    assert "denied the request" in result.stderr and expected in result.stderr, result.stderr


def test_a_run_with_an_undeclared_parameter_is_refused_and_a_good_one_accepted(kube_env, namespace, webhook_operator):
    good = WORKFLOW.format(name="good", tasks="""
        - {name: a, container: {image: x, args: ["{{ params.day }}"]}}""") + "  params: [{name: day, default: '1'}]\n"
    assert apply(kube_env, namespace, good).returncode == 0
    run = """
    apiVersion: dagwright.io/v1alpha1
    kind: WorkflowRun
    metadata: {name: r1}
    spec: {workflowRef: {name: good}, params: {dayy: '2'}}
    """
    result = apply(kube_env, namespace, run)
    assert result.returncode != 0 and "spec.params.dayy" in result.stderr, result.stderr
    assert apply(kube_env, namespace, run.replace("dayy", "day")).returncode == 0


TYPO_WORKFLOW = """
apiVersion: dagwright.io/v1alpha1
kind: Workflow
metadata: {name: typo}
spec:
  params: [{name: date, default: '2026-11-24'}]
  tasks:
    - {name: extract, container: {image: x}}
    - {name: load, container: {image: x, args: [--day, TEXT]}}
"""


def test_kubectl_apply_of_a_workflow_with_a_template_typo_is_refused_naming_the_task_and_the_text(
        kube_env, namespace, webhook_operator):
    typos = ["{{ date }}", "{{ 7*7 }}", "{{ run.name | upper }}", "{{ __import__('os').system('id') }}"]
    for typo in typos:
        manifest = TYPO_WORKFLOW.replace("TEXT", '"' + typo.replace('"', '\\"') + '"')
        result = apply(kube_env, namespace, manifest)
        assert result.returncode != 0, f"{typo} was accepted"
        assert "denied the request" in result.stderr, result.stderr
        assert "spec.tasks[1] (load)" in result.stderr and typo in result.stderr, result.stderr
    fixed = TYPO_WORKFLOW.replace("TEXT", '"{{ params.date }}"')
    assert apply(kube_env, namespace, fixed).returncode == 0


def test_a_run_that_leaves_a_parameter_without_a_default_unset_is_refused_naming_it(kube_env, namespace,
                                                                                   webhook_operator):
    workflow = WORKFLOW.format(name="needs-day", tasks="""
        - {name: a, container: {image: x, args: ["{{ params.day }}"]}}""") + "  params: [{name: day}]\n"
    assert apply(kube_env, namespace, workflow).returncode == 0
    run = """
    apiVersion: dagwright.io/v1alpha1
    kind: WorkflowRun
    metadata: {name: r1}
    spec: {workflowRef: {name: needs-day}}
    """
    result = apply(kube_env, namespace, run)
    assert result.returncode != 0, result.stdout
    assert "spec.params.day: no value" in result.stderr, result.stderr
    assert apply(kube_env, namespace, run.replace("needs-day}", "needs-day}, params: {day: '1'}")).returncode == 0


def test_a_workflow_that_closes_a_cycle_of_workflow_references_is_refused(kube_env, namespace, webhook_operator):
    import time

    assert apply(kube_env, namespace, WORKFLOW.format(name="a", tasks="""
        - {name: t, workflow: {name: b}}""")).returncode == 0
    deadline = time.monotonic() + 20
    while True:  # until the webhook's cache has seen Workflow a
        result = apply(kube_env, namespace, WORKFLOW.format(name="b", tasks="""
        - {name: t, workflow: {name: a}}"""))
        if result.returncode != 0 or time.monotonic() > deadline:
            break
        subprocess.run(["kubectl", "-n", namespace, "delete", "workflow", "b"], env=kube_env, capture_output=True)
        time.sleep(0.5)
    assert result.returncode != 0, result.stdout
    assert "spec.tasks[0] (t).workflow.name: workflow reference cycle: b -> a -> b" in result.stderr, result.stderr
