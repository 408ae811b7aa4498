"""The kopf wiring: watches feed the caches, a work queue feeds the reconcilers.

kopf watches Workflows and WorkflowRuns (`on.event`: no annotations or finalizers written);
our own `JobIndex` watches only Dagwright's Jobs, filtered by label on the server. Every
change becomes a run key on the `WorkQueue`; a few workers reconcile keys one at a time each.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from dataclasses import dataclass, field
from typing import Any, cast

import kopf

from dagwright.api.models import API_VERSION, GROUP, VERSION
from dagwright.controller import admission
from dagwright.controller.events import EventSink
from dagwright.controller.runs import RunReconciler
from dagwright.controller.specs import RUNS
from dagwright.controller.store import RunStore, run_key, run_phase
from dagwright.controller.webhookguard import WebhookPolicy
from dagwright.controller.workflows import WorkflowReconciler
from dagwright.controller.workqueue import WorkQueue
from dagwright.kube import resources
from dagwright.kube.errors import ApiError
from dagwright.kube.http import KubeHttp, authorization, load_configuration
from dagwright.kube.jobindex import JobIndex
from dagwright.planner.snapshot import DEFAULT_START_GRACE_SECONDS

log = logging.getLogger("dagwright.operator")

WORKERS = 32
WORKFLOW_WORKERS = 2
API_THREADS = 32
RESYNC_SECONDS = 60.0


@dataclass
class OperatorConfig:
    """Set by the CLI before kopf starts."""

    namespaces: list[str] | None = None  # None: all namespaces
    kubeconfig: str | None = None
    allow_link_local_webhooks: bool = False  # notifications may POST to link-local/metadata addresses
    # seconds a task pod may wait to start (image pull, ContainerCreating, unschedulable)
    pod_start_grace: float = DEFAULT_START_GRACE_SECONDS
    openlineage_url: str | None = None  # send OpenLineage run events here (off when None)
    openlineage_namespace: str = "dagwright"  # the datasets' OpenLineage namespace


CONFIG = OperatorConfig()


@dataclass
class _State:
    store: RunStore = field(default_factory=RunStore)
    reconciler: RunReconciler | None = None
    workflows: WorkflowReconciler | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


STATE = _State()


@kopf.on.login(id="dagwright")
def login(**_: Any) -> kopf.ConnectionInfo:
    """kopf's credentials: the ones Dagwright's own client loads (`--kubeconfig`, else in-cluster,
    else the default kubeconfig), so kopf and the client can never talk to different clusters.

    kopf's built-in fallback goes through the kubernetes client's global default, whose kubeconfig
    path was fixed at import, before the CLI parsed `--kubeconfig`. kopf calls this again when the
    API server answers 401, which picks up a rotated ServiceAccount token.
    """
    configuration = load_configuration(CONFIG.kubeconfig)
    scheme, _space, token = (authorization(configuration) or "").rpartition(" ")
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
        scheme=scheme or None,
        token=token or None,
    )


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    settings.watching.server_timeout = 270
    settings.networking.request_timeout = 60
    if CONFIG.namespaces is not None:
        settings.scanning.disabled = True  # fixed namespaces: no cluster-wide discovery rights needed
    if admission.WEBHOOK.enabled:
        admission.configure(settings)
    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=API_THREADS))
    watch_streams = 2 * len(CONFIG.namespaces or [None])  # Jobs and pods, each holds a connection
    http = KubeHttp(load_configuration(CONFIG.kubeconfig), max_connections=API_THREADS + watch_streams)
    queue = WorkQueue()
    events = EventSink(http)
    jobs = JobIndex(http, CONFIG.namespaces, on_change=lambda key: loop.call_soon_threadsafe(_job_changed, key))
    reconciler = RunReconciler(http, STATE.store, jobs, events, queue)
    reconciler.notifier.policy = WebhookPolicy(allow_link_local=CONFIG.allow_link_local_webhooks)
    reconciler.start_grace_seconds = CONFIG.pod_start_grace
    if CONFIG.openlineage_url:
        from dagwright.controller.lineage import LineageEmitter  # the client only when asked for

        reconciler.lineage = LineageEmitter(CONFIG.openlineage_url)
        reconciler.lineage_namespace = CONFIG.openlineage_namespace
    workflow_queue = WorkQueue()
    workflows = WorkflowReconciler(http, STATE.store, reconciler, events, workflow_queue)
    reconciler.on_finished.append(workflows.run_changed)
    reconciler.assets.on_changed.append(workflows.asset_changed)
    STATE.reconciler, STATE.workflows = reconciler, workflows
    jobs.start()
    STATE.tasks = [asyncio.create_task(events.run(), name="events")]
    STATE.tasks += [asyncio.create_task(_worker(reconciler, queue), name=f"worker-{i}") for i in range(WORKERS)]
    primed = asyncio.Event()
    STATE.tasks.append(asyncio.create_task(_prime_runs(http, reconciler, primed), name="prime-runs"))
    STATE.tasks += [asyncio.create_task(_worker(workflows, workflow_queue, primed), name=f"workflow-worker-{i}")
                    for i in range(WORKFLOW_WORKERS)]
    STATE.tasks.append(asyncio.create_task(_resync(reconciler, queue), name="resync"))


def _job_changed(key: tuple[str, str]) -> None:
    """A run's Job or pod changed: look at the run; a pool slot may have freed in its namespace."""
    if STATE.reconciler is not None:
        STATE.reconciler.queue.add(key)
        STATE.reconciler.pools.slots_changed(key[0])


async def _prime_runs(http: KubeHttp, reconciler: RunReconciler, primed: asyncio.Event) -> None:
    """List every run once before the workflow reconciler starts, so its first pass sees them all.

    kopf's watch delivers its initial list run by run; a trigger decided on half of it could
    let an event slip under its watermark. Retried until the API server answers.
    """
    delay = 1.0
    while True:
        try:
            namespaces: list[str | None] = list(CONFIG.namespaces) if CONFIG.namespaces is not None else [None]
            for namespace in namespaces:
                for body in await asyncio.to_thread(resources.list_custom, http, namespace, RUNS):
                    reconciler.observe_run({**body, "apiVersion": API_VERSION, "kind": "WorkflowRun"}, listed=True)
            primed.set()
            return
        except ApiError as error:
            log.warning("cannot list runs yet (%s); retrying in %.0fs", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


async def _worker(reconciler: RunReconciler | WorkflowReconciler, queue: WorkQueue,
                  primed: asyncio.Event | None = None) -> None:
    await asyncio.to_thread(STATE.reconciler.jobs.synced.wait)  # type: ignore[union-attr]
    if primed is not None:
        await primed.wait()
    while True:
        key = await queue.get()
        try:
            await reconciler.reconcile(key)
        except Exception:  # noqa: BLE001 - one run's failure must not stop the others
            log.exception("reconciling %s/%s failed; retrying", *key)
            queue.add_after(key, 5.0)
        finally:
            queue.done(key)


async def _resync(reconciler: RunReconciler, queue: WorkQueue) -> None:
    """A safety net: look at every unfinished run now and then, whatever happened."""
    while True:
        await asyncio.sleep(RESYNC_SECONDS)
        for key in reconciler.store.unfinished():
            queue.add(key)


@kopf.on.cleanup()
async def stop(**_: Any) -> None:
    for task in STATE.tasks:
        task.cancel()
    if STATE.reconciler is not None:
        STATE.reconciler.jobs.stop()


@kopf.on.event(GROUP, VERSION, "workflowruns")
async def on_run_event(type: str | None, event: kopf.RawEvent, **_: Any) -> None:  # noqa: A002
    if STATE.reconciler is None or STATE.workflows is None:
        return
    body = cast(dict[str, Any], event["object"])  # kopf's RawBody is the same JSON object
    before = STATE.store.run(run_key(body))
    STATE.reconciler.observe_run(body, deleted=type == "DELETED", listed=type is None)
    if type in ("ADDED", "DELETED", None) or before is None or run_phase(before) != run_phase(body):
        STATE.workflows.run_changed(body)


@kopf.on.event(GROUP, VERSION, "workflows")
async def on_workflow_event(type: str | None, event: kopf.RawEvent, **_: Any) -> None:  # noqa: A002
    if STATE.workflows is None:
        return
    STATE.workflows.observe_workflow(cast(dict[str, Any], event["object"]), deleted=type == "DELETED")


@kopf.on.event(GROUP, VERSION, "pools")
async def on_pool_event(type: str | None, event: kopf.RawEvent, **_: Any) -> None:  # noqa: A002
    if STATE.reconciler is None:
        return
    STATE.reconciler.pools.observe_pool(cast(dict[str, Any], event["object"]), deleted=type == "DELETED")


@kopf.on.probe(id="jobs")
def probe_jobs(**_: Any) -> dict[str, Any]:
    reconciler = STATE.reconciler
    if reconciler is None:
        return {"ready": False}
    return {"ready": reconciler.jobs.synced.is_set(), "jobs": reconciler.jobs.size(), "queue": reconciler.queue.depth()}


def enable_webhook() -> None:
    """Register the admission handlers (before kopf starts; the CLI calls this)."""
    admission.WEBHOOK.enabled = True
    admission.register(STATE.store.workflows)
