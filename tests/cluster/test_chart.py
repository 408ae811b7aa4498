"""The Helm chart on a real API server: it installs, and its RBAC is exactly enough.

The chart is installed with `watchNamespaces=[<the test's namespace>]` (the namespaced Role
path). Then the real operator runs *as the chart's ServiceAccount* (a token from `kubectl
create token` in a kubeconfig of its own, used by both kopf and Dagwright's client) and drives a
run with a retried task, a scheduled Workflow with catch-up and history limits, and a cancelled
run, with its success notified to a URL read from a Secret: every API call in kube/resources.py
that the operator makes on these paths goes through the chart's Role, and the log must show no
403. Pods are simulated by kwok, so the chart's own
Deployment never runs anything: any image name works.

CRDs: the session fixture `crds` has applied crds/ (the same files as the chart's crds/) with
server-side apply, so the chart is installed with `--skip-crds`; tests/unit/test_chart.py checks
that the chart's copies are identical.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from .kube import GROUP, VERSION, Kube
from .kube import container_task as task
from .operator_process import OperatorProcess, operator_env

TASK_RESOURCE = "Job"  # these tests look at the runs' Jobs (the default, Pod, elsewhere: test_pod_mode.py)

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "dagwright"
RELEASE = "dagwright"
OPERATOR_SA = "dagwright"  # fullname of release "dagwright"
FORBIDDEN_MARKERS = ("403", "Forbidden", "forbidden", "Not enough permissions")


def sh(
    cmd: list[str], env: dict[str, str], timeout: float = 180, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        cmd, env=env, check=False, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return proc


@contextmanager
def installed(namespace: str, env: dict[str, str], *sets: str) -> Iterator[str]:
    """The chart installed into `namespace` (release `dagwright`), uninstalled afterwards."""
    args = [
        "helm",
        "install",
        RELEASE,
        str(CHART),
        "--namespace",
        namespace,
        "--skip-crds",
        "--set",
        "image.repository=example.invalid/dagwright",
        "--set",
        "image.tag=test",
    ]
    for value in sets:
        args += ["--set", value]
    sh([*args, "--wait", "--timeout", "120s"], env, timeout=180)
    try:
        yield RELEASE
    finally:
        sh(
            ["helm", "uninstall", RELEASE, "--namespace", namespace, "--wait", "--timeout", "60s"],
            env,
            timeout=90,
            check=False,
        )


@pytest.fixture
def release(namespace: str, kube_env: dict[str, str], crds: bool) -> Iterator[str]:
    """The chart installed into the test's namespace, watching only that namespace."""
    with installed(namespace, kube_env, f"watchNamespaces={{{namespace}}}") as name:
        yield name


def kubectl_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    return json.loads(sh(["kubectl", *args, "-o", "json"], env).stdout)


def can_i(env: dict[str, str], namespace: str, sa: str, *what: str) -> bool:
    proc = sh(
        [
            "kubectl",
            "auth",
            "can-i",
            *what,
            "--namespace",
            namespace,
            "--as",
            f"system:serviceaccount:{namespace}:{sa}",
        ],
        env,
        check=False,
    )
    return proc.stdout.strip() == "yes"


def service_account_kubeconfig(env: dict[str, str], namespace: str, sa: str, path: Path) -> Path:
    """A kubeconfig for the cluster of `env` that authenticates with a token of `sa`."""
    admin = kubectl_json(env, "config", "view", "--raw", "--minify", "--flatten")
    cluster = admin["clusters"][0]["cluster"]
    token = sh(["kubectl", "create", "token", sa, "--namespace", namespace, "--duration", "1h"], env).stdout.strip()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "cluster",
                "cluster": {
                    k: v
                    for k, v in cluster.items()
                    if k in ("server", "certificate-authority-data", "insecure-skip-tls-verify", "tls-server-name")
                },
            }
        ],
        "users": [{"name": sa, "user": {"token": token}}],
        "contexts": [{"name": sa, "context": {"cluster": "cluster", "user": sa, "namespace": namespace}}],
        "current-context": sa,
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def test_the_chart_installs_a_namespaced_operator_with_task_service_accounts(release, namespace, kube_env):
    # What the objects say is what `helm template` rendered (tests/chart/test_chart_template.py checks
    # that, and the API server stores what it is sent); here: the pod is admitted and runs, and the
    # API server's RBAC answers for the installed accounts are the ones the table intends.
    deployment = kubectl_json(kube_env, "get", "deployment", OPERATOR_SA, "-n", namespace)
    assert deployment["status"].get("readyReplicas") == 1  # a kwok-simulated pod, Running

    # Watching named namespaces, the operator has no cluster-wide rights at all.
    for verb, resource in [
        ("list", "workflowruns.dagwright.io"),
        ("create", "jobs.batch"),
        ("get", "secrets"),
        ("list", "pods"),
        ("watch", "customresourcedefinitions.apiextensions.k8s.io"),
        ("list", "namespaces"),
    ]:
        proc = sh(
            [
                "kubectl",
                "auth",
                "can-i",
                verb,
                resource,
                "--all-namespaces",
                "--as",
                f"system:serviceaccount:{namespace}:{OPERATOR_SA}",
            ],
            kube_env,
            check=False,
        )
        assert proc.stdout.strip() == "no", (verb, resource)
    assert not can_i(kube_env, namespace, OPERATOR_SA, "delete", "jobs.batch")
    assert can_i(kube_env, namespace, OPERATOR_SA, "create", "pods")  # taskResource: Pod
    assert can_i(kube_env, namespace, OPERATOR_SA, "create", "configmaps")  # largeOutputs
    assert not can_i(kube_env, namespace, OPERATOR_SA, "delete", "configmaps")
    assert not can_i(kube_env, namespace, OPERATOR_SA, "list", "secrets")

    # The default task identity has no rights at all; the Spark one may manage executor pods.
    for verb, resource in [
        ("list", "pods"),
        ("get", "pods"),
        ("create", "jobs.batch"),
        ("get", "secrets"),
        ("list", "workflowruns.dagwright.io"),
    ]:
        assert not can_i(kube_env, namespace, "dagwright-task", verb, resource), (verb, resource)
    assert can_i(kube_env, namespace, "dagwright-spark", "create", "pods")
    assert can_i(kube_env, namespace, "dagwright-spark", "delete", "configmaps")
    assert not can_i(kube_env, namespace, "dagwright-spark", "get", "secrets")


def test_a_cluster_wide_install_grants_the_table_in_every_namespace_and_no_more(namespace, kube_env, crds):
    """The default values (watch everything): a ClusterRole; still no delete of Jobs, no secret lists."""
    with installed(namespace, kube_env):
        args = kubectl_json(kube_env, "get", "deployment", OPERATOR_SA, "-n", namespace)["spec"]["template"]["spec"][
            "containers"
        ][0]["args"]
        assert args[:2] == ["operator", "--all-namespaces"]
        who = f"system:serviceaccount:{namespace}:{OPERATOR_SA}"

        def cluster_can(*what: str) -> bool:
            proc = sh(["kubectl", "auth", "can-i", *what, "--as", who], kube_env, check=False)
            return proc.stdout.strip() == "yes"

        for verb, resource in [
            ("list", "workflowruns.dagwright.io"),
            ("watch", "workflows.dagwright.io"),
            ("watch", "jobs.batch"),
            ("list", "pods"),
            ("create", "events"),
        ]:
            assert cluster_can(verb, resource, "--all-namespaces"), (verb, resource)
        for what in [
            ("create", "jobs.batch"),
            ("get", "secrets"),
            ("delete", "workflowruns.dagwright.io"),
            ("patch", "workflowruns.dagwright.io", "--subresource=status"),
            ("create", "pods"),  # taskResource: Pod
            ("create", "configmaps"),  # largeOutputs
        ]:
            assert cluster_can(*what, "--namespace", "default"), what
        for verb, resource in [
            ("delete", "jobs.batch"),
            ("list", "secrets"),
            ("list", "namespaces"),
            ("update", "workflowruns.dagwright.io"),
            ("delete", "workflows.dagwright.io"),
            ("delete", "configmaps"),
            ("list", "configmaps"),
        ]:
            assert not cluster_can(verb, resource, "--namespace", "default"), (verb, resource)
        assert cluster_can("watch", "customresourcedefinitions.apiextensions.k8s.io")
        assert not cluster_can("get", "customresourcedefinitions.apiextensions.k8s.io")
        assert not can_i(kube_env, namespace, "dagwright-task", "list", "pods")
    cluster_roles = sh(["kubectl", "get", "clusterroles", "-o", "name"], kube_env).stdout
    assert f"clusterrole.rbac.authorization.k8s.io/{namespace}-dagwright" not in cluster_roles.split()


def test_the_operator_runs_workflows_with_nothing_but_the_charts_rbac(
    release, namespace, kube_env, kube_api, crds, tmp_path, request
):
    sa_kubeconfig = service_account_kubeconfig(kube_env, namespace, OPERATOR_SA, tmp_path / "operator-sa.kubeconfig")
    operator = OperatorProcess(str(sa_kubeconfig), [namespace], tmp_path / "operator.log", operator_env(kube_env))
    kube = Kube(kube_api, namespace, TASK_RESOURCE)  # the test itself acts as the cluster admin
    try:
        operator.start()
        _a_run_with_a_retried_task_succeeds(kube)
        _a_scheduled_workflow_catches_up_and_keeps_its_history_limit(kube)
        _a_cancelled_run_suspends_its_job(kube)
        _a_pool_is_read_watched_and_its_status_written(kube)
        _an_asset_is_materialized_and_its_update_triggers_a_workflow(kube)
        operator.assert_alive()
    except BaseException:
        print("---- operator log (tail) ----\n" + operator.log()[-6000:])
        raise
    finally:
        operator.stop()
    log = operator.log()
    denied = [line for line in log.splitlines() if any(marker in line for marker in FORBIDDEN_MARKERS)]
    assert not denied, "the operator was refused API calls:\n" + "\n".join(denied[:20])


def _an_asset_is_materialized_and_its_update_triggers_a_workflow(kube: Kube) -> None:
    """DataAssets get, create and status update; a triggered run created by the workflow reconciler."""
    kube.apply_workflow("producer", {"tasks": [task("write", produces=[{"name": "lake.silver.orders"}])]})
    kube.apply_workflow("consumer", {"triggers": {"assets": [{"name": "lake.silver.orders"}]}, "tasks": [task("read")]})
    kube.create_run("producer-1", workflow="producer", logicalDate="2026-11-24T00:00:00Z")
    assert kube.wait_for_phase("producer-1")["status"]["phase"] == "Succeeded"
    def materialized() -> dict[str, Any] | None:
        items = kube.custom.list_namespaced_custom_object("dagwright.io", "v1alpha1", kube.ns, "dataassets")["items"]
        return next((a.get("status") for a in items if a["spec"]["asset"] == "lake.silver.orders"), None)

    asset = kube.wait_for("the materialization", materialized)
    assert asset["lastRun"] == "producer-1" and asset["count"] == 1
    runs = kube.wait_for("the triggered run", lambda: [
        r for r in kube.custom.list_namespaced_custom_object("dagwright.io", "v1alpha1", kube.ns, "workflowruns")["items"]
        if r["spec"].get("workflowRef", {}).get("name") == "consumer"])
    assert kube.wait_for_phase(runs[0]["metadata"]["name"])["status"]["phase"] == "Succeeded"


class Receiver:
    """A loopback HTTP server counting the JSON POSTs it gets."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _a_run_with_a_retried_task_succeeds(kube: Kube) -> None:
    """Jobs create/list/watch/get, pods list (the exit code of attempt 1), Events, run status,
    and the notification URL read from a Secret."""
    receiver = Receiver()
    kube.core.create_namespaced_secret(
        kube.ns, client.V1Secret(metadata=client.V1ObjectMeta(name="hook"), string_data={"url": receiver.url})
    )
    spec = {
        "tasks": [
            task("extract"),
            task(
                "transform",
                ["extract"],
                annotations={"sim.dagwright.io/fail-first-attempt": "true"},
                retries={"limit": 1, "backoffSeconds": 1},
            ),
            task("load", ["transform"]),
        ],
        "notifications": [
            {"on": ["Succeeded"], "webhook": {"urlFrom": {"secretKeyRef": {"name": "hook", "key": "url"}}}}
        ],
    }
    try:
        kube.create_run("rbac", spec=spec)
        kube.wait_for("the notification", lambda: receiver.posts, timeout=90)
    finally:
        receiver.server.shutdown()
    assert receiver.posts[0]["phase"] == "Succeeded"
    run = kube.wait_for_phase("rbac", timeout=90)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert run["status"]["tasks"]["transform"]["attempts"] == 2
    assert any("exit code 1" in (e.message or "") for e in kube.events("rbac") if e.reason == "TaskRetrying")
    assert kube.attempt_keys("rbac") == [("extract", 1), ("load", 1), ("transform", 1), ("transform", 2)]
    reasons = kube.wait_for("run events", lambda: (r := kube.event_reasons("rbac")) and "RunSucceeded" in r and r)
    assert {"TaskRetrying", "RunSucceeded"} <= set(reasons), reasons
    kube.wait_for("NotificationSent event", lambda: "NotificationSent" in kube.event_reasons("rbac"))


def _a_pool_is_read_watched_and_its_status_written(kube: Kube) -> None:
    """Pools get (not there yet), list/watch (created later) and status patch."""
    kube.create_run("pooled", spec={"tasks": [task("load", pool="warehouse")]})
    kube.wait_for("PoolMissing event", lambda: "PoolMissing" in kube.event_reasons("pooled"), timeout=30)
    kube.custom.create_namespaced_custom_object("dagwright.io", "v1alpha1", kube.ns, "pools", {
        "apiVersion": "dagwright.io/v1alpha1", "kind": "Pool", "metadata": {"name": "warehouse"}, "spec": {"size": 1}})
    assert kube.wait_for_phase("pooled", timeout=60)["status"]["phase"] == "Succeeded"
    kube.wait_for("the pool's status", lambda: (kube.custom.get_namespaced_custom_object(
        "dagwright.io", "v1alpha1", kube.ns, "pools", "warehouse").get("status") or {}).get("inUse") == 0, timeout=15)


def _a_scheduled_workflow_catches_up_and_keeps_its_history_limit(kube: Kube) -> None:
    """Workflows get/list/watch + status patch; runs created and garbage-collected by the operator."""
    kube.apply_workflow(
        "nightly", {"schedule": "* * * * *", "catchup": True, "successfulRunsHistoryLimit": 1, "tasks": [task("only")]}
    )
    last = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    kube.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        kube.ns,
        "workflows",
        "nightly",
        {"status": {"lastScheduleTime": last.strftime("%Y-%m-%dT%H:%M:%SZ")}},
    )

    def runs() -> list[dict[str, Any]]:
        items = kube.custom.list_namespaced_custom_object(GROUP, VERSION, kube.ns, "workflowruns")["items"]
        return [r for r in items if r["spec"].get("workflowRef", {}).get("name") == "nightly"]

    kept = kube.wait_for(
        "one finished run kept",
        lambda: (r := runs()) and len(r) == 1 and (r[0].get("status") or {}).get("phase") == "Succeeded" and r,
        timeout=90,
    )
    # Events outlive the runs they are about: more succeeded runs than are left means the
    # operator deleted the older ones.
    succeeded = kube.wait_for(
        "runs that succeeded",
        lambda: (
            (
                names := {
                    e.involved_object.name
                    for e in kube.core.list_namespaced_event(kube.ns).items
                    if e.involved_object.kind == "WorkflowRun"
                    and e.reason == "RunSucceeded"
                    and e.involved_object.name.startswith("nightly")
                }
            )
            and len(names) >= 2
            and names
        ),
    )
    assert kept[0]["metadata"]["name"] in succeeded
    assert kept[0]["metadata"]["ownerReferences"][0]["kind"] == "Workflow"
    workflow = kube.wait_for(
        "workflow status",
        lambda: (
            (w := kube.custom.get_namespaced_custom_object(GROUP, VERSION, kube.ns, "workflows", "nightly"))
            .get("status", {})
            .get("lastRunPhase")
            == "Succeeded"
            and w
        ),
    )
    assert workflow["status"]["lastRun"] == kept[0]["metadata"]["name"]


def _a_cancelled_run_suspends_its_job(kube: Kube) -> None:
    """Jobs patch (suspend) through the chart's Role."""
    kube.create_run("slow", spec={"tasks": [task("wait", annotations={"sim.dagwright.io/duration": "10m"})]})
    kube.wait_for("the slow task running", lambda: kube.task_phases(kube.run("slow")).get("wait") == "Running")
    kube.patch_run("slow", {"spec": {"cancel": True}})
    run = kube.wait_for_phase("slow", timeout=60)
    assert run["status"]["phase"] == "Cancelled"
    job = kube.wait_for("the Job suspended", lambda: (j := kube.jobs("slow")) and j[0].spec.suspend and j[0])
    assert job.spec.suspend is True
