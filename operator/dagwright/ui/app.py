"""The web view's HTTP side: a Starlette app serving the page, its static files and live views.

Each page opens one Server-Sent Events stream for the one topic it shows (the runs table, a run,
a workflow). The streams share the `ClusterCache`'s watches: a change marks the topics it
touches, each open stream for such a topic is woken, waits `COALESCE_SECONDS` so that a burst of
changes is sent once, and sends the new view. A view is built once per change and topic, however
many pages show it. The only other API call is a task's log tail, read when someone asks for it.
Nothing here writes to the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dagwright.ui import logs
from dagwright.ui.cache import RUNS, WORKFLOWS, ClusterCache, run_topic, workflow_topic
from dagwright.ui.views import (
    PHASE_COLOURS,
    RunFilter,
    filter_choices,
    run_rows,
    run_view,
    workflow_of,
    workflow_rows,
    workflow_view,
)

log = logging.getLogger("dagwright.ui")

COALESCE_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
STATIC = files("dagwright.ui") / "static"


@dataclass(eq=False)
class Subscription:
    topic: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    """Which streams show which topic, and a version per topic that every change bumps."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.subscriptions: set[Subscription] = set()
        self.versions: dict[str, int] = {}
        self._views: dict[str, tuple[str, int, str]] = {}  # variant -> (topic, version, JSON)

    def changed_from_thread(self, topics: set[str]) -> None:
        """Called by the watch threads."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.changed, topics)

    def changed(self, topics: set[str]) -> None:
        for topic in topics:
            self.versions[topic] = self.versions.get(topic, 0) + 1
        for subscription in self.subscriptions:
            if subscription.topic in topics:
                subscription.wake.set()

    def subscribe(self, topic: str) -> Subscription:
        subscription = Subscription(topic)
        self.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget the stream; the views of a topic no page shows any more are dropped."""
        self.subscriptions.discard(subscription)
        if not any(s.topic == subscription.topic for s in self.subscriptions):
            for variant in [v for v, (topic, _, _) in self._views.items() if topic == subscription.topic]:
                del self._views[variant]

    def view(self, topic: str, variant: str, build: Callable[[], Any]) -> str:
        """The JSON of `build()`, built once per version of `topic` and `variant` (e.g. a filter)."""
        version = self.versions.get(topic, 0)
        cached = self._views.get(variant)
        if cached is None or cached[1] != version:
            cached = (topic, version, json.dumps(build(), separators=(",", ":")))
            self._views[variant] = cached
        return cached[2]


def _now() -> datetime:
    return datetime.now(UTC)


def build_app(cache: ClusterCache, hub: Hub) -> Starlette:
    """The app; `cache` must be started by the caller (`ui.server`)."""

    def runs_view(request: Request) -> tuple[str, str, Callable[[], Any]]:
        keep = RunFilter(request.query_params.get("namespace", ""), request.query_params.get("workflow", ""),
                         request.query_params.get("phase", ""))

        def build() -> Any:
            everything = run_rows(cache.runs.all(), _now())
            return {"rows": [r for r in everything if keep.matches(r)], "choices": filter_choices(everything),
                    "total": len(everything)}
        return RUNS, f"runs?{keep.namespace}&{keep.workflow}&{keep.phase}", build

    def workflows_view(request: Request) -> tuple[str, str, Callable[[], Any]]:
        return WORKFLOWS, WORKFLOWS, lambda: {"rows": workflow_rows(cache.workflows.all())}

    def one_run_view(request: Request) -> tuple[str, str, Callable[[], Any]]:
        namespace, name = request.path_params["namespace"], request.path_params["name"]
        topic = run_topic(namespace, name)

        def build() -> Any:
            run = cache.runs.get((namespace, name))
            if run is None:
                return {"missing": True, "namespace": namespace, "name": name}
            workflow = cache.workflows.get((namespace, workflow_of(run))) if workflow_of(run) else None
            return run_view(run, cache.attempts_of(namespace, name), _now(), workflow)
        return topic, topic, build

    def one_workflow_view(request: Request) -> tuple[str, str, Callable[[], Any]]:
        namespace, name = request.path_params["namespace"], request.path_params["name"]
        topic = workflow_topic(namespace, name)

        def build() -> Any:
            workflow = cache.workflows.get((namespace, name))
            if workflow is None:
                return {"missing": True, "namespace": namespace, "name": name}
            return workflow_view(workflow, cache.runs.all(), _now())
        return topic, topic, build

    def streamer(pick: Callable[[Request], tuple[str, str, Callable[[], Any]]]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            topic, variant, build = pick(request)
            return StreamingResponse(_events(hub, topic, variant, build), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return endpoint

    def snapshot(pick: Callable[[Request], tuple[str, str, Callable[[], Any]]]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            _, _, build = pick(request)  # one answer, not a page: built fresh, not cached
            return JSONResponse(build())
        return endpoint

    async def task_log(request: Request) -> Response:
        namespace, run, task = (request.path_params[k] for k in ("namespace", "name", "task"))
        attempt = request.query_params.get("attempt")
        answer = await asyncio.to_thread(logs.log_tail, cache, namespace, run, task,
                                         int(attempt) if attempt and attempt.isdigit() else None)
        return JSONResponse(answer)

    async def index(request: Request) -> Response:
        return FileResponse(str(STATIC / "index.html"))

    async def meta(request: Request) -> Response:
        return JSONResponse({"phaseColours": PHASE_COLOURS, "namespaces": cache.namespaces,
                             "synced": all(e.is_set() for e in (cache.runs.synced, cache.workflows.synced, cache.jobs.synced))})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    routes = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/api/meta", meta),
        Route("/api/runs", snapshot(runs_view)),
        Route("/api/workflows", snapshot(workflows_view)),
        Route("/api/runs/{namespace}/{name}", snapshot(one_run_view)),
        Route("/api/workflows/{namespace}/{name}", snapshot(one_workflow_view)),
        Route("/api/runs/{namespace}/{name}/tasks/{task}/log", task_log),
        Route("/api/stream/runs", streamer(runs_view)),
        Route("/api/stream/workflows", streamer(workflows_view)),
        Route("/api/stream/runs/{namespace}/{name}", streamer(one_run_view)),
        Route("/api/stream/workflows/{namespace}/{name}", streamer(one_workflow_view)),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.loop = asyncio.get_running_loop()
        yield

    return Starlette(routes=routes, lifespan=lifespan)


async def _events(hub: Hub, topic: str, variant: str, build: Callable[[], Any]) -> AsyncIterator[str]:
    """The stream of one page: the view now, then again after each change (bursts coalesced)."""
    subscription = hub.subscribe(topic)
    try:
        yield f"data: {hub.view(topic, variant, build)}\n\n"
        while True:
            try:
                await asyncio.wait_for(subscription.wake.wait(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            await asyncio.sleep(COALESCE_SECONDS)
            subscription.wake.clear()
            yield f"data: {hub.view(topic, variant, build)}\n\n"
    finally:
        hub.unsubscribe(subscription)
