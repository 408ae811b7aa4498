"""`make bench-argo`: Dagwright (Jobs, then Pods) and Argo Workflows side by side, one table of ratios.

    python -m bench.sidebyside [--systems dagwright-jobs,dagwright-pods,argo-tuned[,argo-default]]
                               [--only chain,diamonds,fanout] [--reps 1]

The same local control plane (started if needed, as `make bench` does), one system at a time,
the same three workloads of container tasks (kwok plays the pods): a 30-task chain, 50 runs of
`a -> (b, c) -> d` created at once (16 threads), and a fan-out `root -> 200 -> join`. Argo's
controller is built from the Go module proxy by `hack/build-argo.sh` (bench/argo.py). Each
scenario runs in a fresh namespace, deleted (and emptied) before the next one.

Figures, from the bench's own pod watches (receive times) and the API server's audit log:
- dependency gap: a task's pod ADDED minus the latest "pod finished" among its dependencies;
- fan-out: the root pod finished -> the 200th middle pod ADDED;
- wall time: the first create request -> every run seen finished (polled every 0.2 s);
- writes per task by component: operator or Argo controller, Argo's argoexec stand-in, Job
  controller, scheduler, kwok; "cluster" is all of them (the bench's own creates left out).
Then one table: every figure per system, and Argo tuned / Dagwright ratios. Figures move with the
machine's load: compare ratios within one run. Results: bench/results/sidebyside.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from bench import argo, auditlog
from bench.cluster import (
    Cluster,
    Identity,
    connect,
    create_namespace,
    delete_namespace,
    drop_identity,
    install_crds,
    operator_identity,
    suffix,
)
from bench.jobwatch import JobWatch
from bench.operator import Operator
from bench.report import percentile
from bench.scenarios import now

log = logging.getLogger("bench")
RESULTS = Path(__file__).resolve().parent / "results"
SYSTEMS = ("dagwright-jobs", "dagwright-pods", "argo-tuned", "argo-default")
SCENARIOS = ("chain", "diamonds", "fanout")
CHAIN, DIAMONDS, FANOUT = 30, 50, 200
SETTLE = 3.0
TIMEOUT = 600.0


def shapes() -> dict[str, dict[str, list[str]]]:
    """Each scenario's DAG: task -> dependencies."""
    chain = {f"t{i:02d}": ([f"t{i - 1:02d}"] if i else []) for i in range(CHAIN)}
    diamond = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    fanout = {"root": [], **{f"m{i:03d}": ["root"] for i in range(FANOUT)}, "join": [f"m{i:03d}" for i in range(FANOUT)]}
    return {"chain": chain, "diamonds": diamond, "fanout": fanout}


def runs_of(scenario: str) -> list[str]:
    return [f"diamond-{i:02d}" for i in range(DIAMONDS)] if scenario == "diamonds" else [f"{scenario}-1"]


@dataclass
class Pods:
    """Every task pod seen: (namespace, run, task) -> (added, finished), from the bench's watches."""

    seen: dict[tuple[str, str, str], list[float | None]] = field(default_factory=dict)

    def note(self, namespace: str, run: str, task: str, added: float, finished: float | None) -> None:
        entry = self.seen.setdefault((namespace, run, task), [added, None])
        if finished is not None and entry[1] is None:
            entry[1] = finished


class Side:
    """One system under test (its process started and stopped around its scenarios)."""

    def __init__(self, name: str, cluster: Cluster, identities: dict[str, Identity], logs: Path) -> None:
        self.name, self.cluster, self.identities, self.logs = name, cluster, identities, logs
        self.operator: Operator | None = None
        self.controller: argo.Controller | None = None
        self.results: argo.TaskResults | None = None

    @property
    def is_argo(self) -> bool:
        return self.name.startswith("argo")

    def start(self, namespaces: list[str]) -> None:
        if self.is_argo:
            self.controller = argo.Controller(self.identities["argo"].kubeconfig, self.logs / f"{self.name}.log",
                                              self.cluster.env, tuned=self.name == "argo-tuned")
            self.controller.start(self.cluster)
        else:
            self.operator = Operator(self.identities["operator"].kubeconfig, namespaces,
                                     self.logs / f"{self.name}.log", self.cluster.env)
            self.operator.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
        if self.operator is not None:
            self.operator.stop()

    def create(self, namespace: str, scenario: str, dag: dict[str, list[str]]) -> None:
        custom = self.cluster.custom
        names = runs_of(scenario)
        if self.is_argo:
            def make(run: str) -> None:
                custom.create_namespaced_custom_object(argo.GROUP, argo.VERSION, namespace, "workflows",
                                                       argo.workflow(run, dag))
        else:
            tasks = [{"name": t, "container": {"image": "busybox:1.36", "command": ["true"]},
                      **({"dependsOn": deps} if deps else {})} for t, deps in dag.items()]
            spec: dict[str, Any] = {"tasks": tasks, "taskResource": "Pod" if self.name == "dagwright-pods" else "Job"}
            custom.create_namespaced_custom_object("dagwright.io", "v1alpha1", namespace, "workflows", {
                "apiVersion": "dagwright.io/v1alpha1", "kind": "Workflow", "metadata": {"name": scenario}, "spec": spec})
            time.sleep(1.0)  # the operator's Workflow cache, as in real life

            def make(run: str) -> None:
                custom.create_namespaced_custom_object("dagwright.io", "v1alpha1", namespace, "workflowruns", {
                    "apiVersion": "dagwright.io/v1alpha1", "kind": "WorkflowRun", "metadata": {"name": run},
                    "spec": {"workflowRef": {"name": scenario}}})
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(make, names))

    def finished(self, namespace: str, scenario: str) -> bool:
        plural, group = ("workflows", argo.GROUP) if self.is_argo else ("workflowruns", "dagwright.io")
        answer = self.cluster.custom.list_namespaced_custom_object(group, "v1alpha1", namespace, plural,
                                                                   _preload_content=False)
        items = {i["metadata"]["name"]: i for i in json.loads(answer.data)["items"]}
        done = ("Succeeded", "Failed", "Error", "Cancelled")
        return all((items.get(r, {}).get("status") or {}).get("phase") in done for r in runs_of(scenario))


def measure(pods: Pods, namespace: str, scenario: str, dag: dict[str, list[str]]) -> dict[str, Any]:
    """Gaps (ms) and the fan-out figure from the pods seen in `namespace`."""
    seen = {(run, task): v for (ns, run, task), v in pods.seen.items() if ns == namespace}
    gaps, missing = [], 0
    for (run, task), (added, _f) in seen.items():
        deps = dag.get(task) or []
        if not deps:
            continue
        ends = [seen.get((run, d), [None, None])[1] for d in deps]
        if added is None or any(e is None for e in ends):
            missing += 1
            continue
        gaps.append(added - max(e for e in ends if e is not None))
    out: dict[str, Any] = {"pods": len(seen), "gaps": len(gaps), "unmeasured": missing,
                           "gap_p50_ms": _ms(percentile(gaps, 50)), "gap_p99_ms": _ms(percentile(gaps, 99))}
    if scenario == "fanout":
        root_end = seen.get(("fanout-1", "root"), [None, None])[1]
        middle = sorted(v[0] for (r, t), v in seen.items() if t.startswith("m") and v[0] is not None)
        if root_end is not None and len(middle) >= FANOUT:
            out["root_end_to_200th_pod_s"] = round(middle[FANOUT - 1] - root_end, 3)
    return out


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def writes(audit: auditlog.AuditLog | None, identities: dict[str, Identity], namespace: str, since: Any, until: Any,
           tasks: int) -> dict[str, float]:
    """Writes per task by component in the scenario's namespace and window."""
    if audit is None:
        return {}
    names = {identities["operator"].username: "operator", identities["argo"].username: "argo-controller",
             identities["argoexec"].username: "argoexec (stand-in)"}
    chosen = auditlog.within(audit.writes(None), {namespace}, since, until)
    counts: dict[str, int] = {}
    for w in chosen:
        who = names.get(w.user) or auditlog.component(w.user, "")
        counts[who] = counts.get(who, 0) + 1
    out = {k: round(v / tasks, 2) for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if k != "bench"}
    out["cluster"] = round(sum(v for k, v in counts.items() if k != "bench") / tasks, 2)
    return out


def run_scenario(side: Side, scenario: str, namespace: str, pods: Pods, audit: auditlog.AuditLog | None,
                 identities: dict[str, Identity]) -> dict[str, Any]:
    dag = shapes()[scenario]
    tasks = len(dag) * len(runs_of(scenario))
    since, started = now(), time.monotonic()
    side.create(namespace, scenario, dag)
    deadline = started + TIMEOUT
    while not side.finished(namespace, scenario):
        if time.monotonic() > deadline:
            return {"error": f"not finished after {TIMEOUT:.0f}s"}
        time.sleep(0.2)
    wall = time.monotonic() - started
    time.sleep(SETTLE)
    figures = {"tasks": tasks, "wall_s": round(wall, 2), **measure(pods, namespace, scenario, dag)}
    figures["writes_per_task"] = writes(audit, identities, namespace, since, now(), tasks)
    return figures


def empty(cluster: Cluster, namespace: str, timeout: float = 180) -> None:
    delete_namespace(cluster, namespace)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not cluster.core.list_namespaced_pod(namespace, limit=1).items:
                return
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        time.sleep(0.5)


ROWS: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = [
    ("chain", "gap p50, pod end -> next pod (ms)", lambda f: f.get("gap_p50_ms")),
    ("chain", "wall time (s)", lambda f: f.get("wall_s")),
    ("diamonds", "gap p50 (ms)", lambda f: f.get("gap_p50_ms")),
    ("diamonds", "gap p99 (ms)", lambda f: f.get("gap_p99_ms")),
    ("diamonds", "wall time, all 50 (s)", lambda f: f.get("wall_s")),
    ("fanout", "root end -> 200th pod (s)", lambda f: f.get("root_end_to_200th_pod_s")),
    ("fanout", "wall time (s)", lambda f: f.get("wall_s")),
    ("chain", "writes/task, whole cluster", lambda f: (f.get("writes_per_task") or {}).get("cluster")),
    ("diamonds", "writes/task, whole cluster", lambda f: (f.get("writes_per_task") or {}).get("cluster")),
    ("fanout", "writes/task, whole cluster", lambda f: (f.get("writes_per_task") or {}).get("cluster")),
    ("chain", "writes/task, the controller itself", lambda f: _own(f)),
    ("diamonds", "writes/task, the controller itself", lambda f: _own(f)),
    ("fanout", "writes/task, the controller itself", lambda f: _own(f)),
]


def _own(figures: dict[str, Any]) -> Any:
    w = figures.get("writes_per_task") or {}
    return w.get("operator", w.get("argo-controller"))


def table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Markdown: one row per figure, one column per system, then Argo tuned / each Dagwright mode."""
    systems = list(results)
    dagwrights = [s for s in systems if s.startswith("dagwright")]
    header = ["scenario", "figure", *systems] + ([f"argo-tuned / {d}" for d in dagwrights] if "argo-tuned" in systems else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for scenario, label, pick in ROWS:
        values = [pick(results[s].get(scenario) or {}) for s in systems]
        cells = [scenario, label, *("n/a" if v is None else f"{v:,}" for v in values)]
        if "argo-tuned" in systems:
            argo_value = pick(results["argo-tuned"].get(scenario) or {})
            for d in dagwrights:
                mine = pick(results[d].get(scenario) or {})
                cells.append(f"{argo_value / mine:.1f}x" if argo_value and mine else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", default="dagwright-jobs,dagwright-pods,argo-tuned")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--output", default=str(RESULTS / "sidebyside.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; known: {SYSTEMS}")
    scenarios = [s for s in SCENARIOS if s in args.only.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)
    cluster = connect()
    install_crds(cluster)
    if any(s.startswith("argo") for s in systems):
        log.info("building Argo's controller (hack/build-argo.sh; minutes when cold)")
        argo.build(cluster.env)
        argo.install(cluster)
    tag = suffix()
    identities: dict[str, Identity] = {}
    for role in ("operator", "argo", "argoexec"):
        namespace = create_namespace(cluster, f"sxs-{role}-{tag}")
        identities[role] = operator_identity(cluster, namespace, RESULTS / f"sxs-{role}.kubeconfig")
    audit_path = cluster.audit_log()
    audit = auditlog.AuditLog(audit_path) if auditlog.readable(audit_path) else None
    pods = Pods()
    exec_api = client.ApiClient(_configuration(identities["argoexec"].kubeconfig))
    task_results = argo.TaskResults(exec_api)

    def dagwright_pod(obj: dict[str, Any], watch: JobWatch) -> None:
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        entry = watch.jobs.get((meta.get("namespace", ""), labels.get("batch.kubernetes.io/job-name")
                                or labels.get("job-name") or meta.get("name", "")))
        if entry is not None:
            pods.note(entry.namespace, entry.run, entry.task, entry.added, entry.finished)

    def argo_pod(obj: dict[str, Any], watch: JobWatch) -> None:
        meta = obj.get("metadata") or {}
        ids = argo.task_of(obj)
        entry = watch.jobs.get((meta.get("namespace", ""), meta.get("name", "")))
        if ids is not None and entry is not None:
            pods.note(entry.namespace, ids[0], ids[1], entry.added, entry.finished)
        task_results.pod_seen(obj)

    dw_watch = JobWatch(cluster.api, "dagwright.io/run", pods=True)
    dw_watch.on_event = lambda o: dagwright_pod(o, dw_watch)
    argo_watch = JobWatch(cluster.api, argo.WF_LABEL, pods=True)
    argo_watch.on_event = lambda o: argo_pod(o, argo_watch)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        for system in systems:
            side = Side(system, cluster, identities, RESULTS)
            namespaces = {s: f"sxs-{system}-{s}-{tag}" for s in scenarios}
            for namespace in namespaces.values():
                create_namespace(cluster, namespace)
                (argo_watch if side.is_argo else dw_watch).add_namespace(namespace)
            log.info("%s: starting", system)
            side.start(list(namespaces.values()))
            results[system] = {}
            try:
                for scenario in scenarios:
                    log.info("%s: %s ...", system, scenario)
                    figures = run_scenario(side, scenario, namespaces[scenario], pods, audit, identities)
                    results[system][scenario] = figures
                    log.info("%s: %s %s", system, scenario, figures)
                    empty(cluster, namespaces[scenario])
            finally:
                side.stop()
    finally:
        dw_watch.stop()
        argo_watch.stop()
        task_results.stop()
        for identity in identities.values():
            drop_identity(cluster, identity)
            delete_namespace(cluster, identity.namespace)
    out = {"timestamp": now().isoformat(timespec="seconds"), "argo_version": argo.ARGO_VERSION,
           "argo_tuned": {"args": argo.TUNED_ARGS, "env": argo.TUNED_ENV}, "results": results,
           "argoexec_stand_in_errors": task_results.errors}
    Path(args.output).write_text(json.dumps(out, indent=2) + "\n")
    print(table(results))
    print(f"\nfigures in {args.output}")
    return 0


def _configuration(kubeconfig: Path) -> client.Configuration:
    from kubernetes import config

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    configuration.connection_pool_maxsize = 96
    return configuration


if __name__ == "__main__":
    sys.exit(main())
