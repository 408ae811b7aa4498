"""The `dbt` task kind: one dbt command, whose exit code decides the task.

Pure. The container runs `sh -c WRAPPER dbt ARGS…`: the wrapper runs `dbt ARGS…` (passing on
SIGTERM, so a cancelled or timed-out task stops dbt), then writes a summary of
`target/run_results.json` (`target/sources.json` for `source freshness`) as the task's outputs
JSON to `/dev/termination-log`, and exits with dbt's exit code. The summary stays under 1 KiB
(Dagwright keeps 1 KiB of outputs per task; the termination message itself keeps 4 KiB):

    {"exitCode": 1, "total": 42, "passed": 40, "failed": 1, "error": 0, "skipped": 1,
     "warned": 0, "elapsedSeconds": 73.2, "failures": "model.shop.orders,test.shop.not_null_x"}

`passed` counts `success` and `pass`, `error` counts `error` and `runtime error`. When dbt
wrote no results (it failed before running anything) nothing is written, and Kubernetes
keeps the tail of the log instead (`FallbackToLogsOnError`).

`profilesFrom: SECRET` mounts the Secret read-only at `/dagwright/dbt-profiles` and passes
`--profiles-dir` there; without it, `--profiles-dir` is the project dir (profiles.yml baked into
the image next to dbt_project.yml), or dbt's own default when there is no project dir.
"""

from __future__ import annotations

import json
from typing import Any

from dagwright.api.models import DbtCommand, DbtTask
from dagwright.render.container import OUTPUTS_ENV, KindPod, build_container

PROFILES_VOLUME = "dbt-profiles"
PROFILES_DIR = "/dagwright/dbt-profiles"
RESULTS_ENV = "DAGWRIGHT_DBT_RESULTS"
MAX_FAILURES_CHARS = 400
"""The failed nodes' ids are listed up to this many characters, so outputs stay under 1 KiB."""

SUMMARY = """\
import json,os,sys
try:
    d=json.load(open(os.environ["DAGWRIGHT_DBT_RESULTS"]))
except Exception:
    sys.exit(0)
r=[x for x in d.get("results") or [] if isinstance(x,dict)]
n=lambda *s: sum(1 for x in r if x.get("status") in s)
o={"exitCode":int(sys.argv[1]),"total":len(r),"passed":n("success","pass"),"failed":n("fail"),
"error":n("error","runtime error"),"skipped":n("skipped"),"warned":n("warn"),
"elapsedSeconds":round(float(d.get("elapsed_time") or 0),1)}
bad=[str(x.get("unique_id")) for x in r if x.get("status") in ("error","fail","runtime error")]
f=""
for i in bad:
    if len(f)+len(i)>MAX_CHARS:
        f+=",..."
        break
    f+=("," if f else "")+i
if f:
    o["failures"]=f
sys.stdout.write(json.dumps(o,separators=(",",":")))
""".replace("MAX_CHARS", str(MAX_FAILURES_CHARS))
"""Reads the results file, prints the outputs JSON (argv[1]: dbt's exit code). No `'` or `$`."""

WRAPPER = f"""\
rm -f "${RESULTS_ENV}" 2>/dev/null
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
dbt "$@" & child=$!
wait "$child"; rc=$?
while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
python -c '{SUMMARY}' "$rc" > "${OUTPUTS_ENV}" 2>/dev/null || true
exit "$rc"
"""
"""Removes stale results, runs dbt with the container's args, writes the summary, keeps dbt's
exit code."""

CHECK_WRAPPER = WRAPPER.replace('exit "$rc"', '[ "$rc" = 1 ] && exit 0\nexit "$rc"')
"""For a check task (`check:`): dbt's exit code 1 (tests failed or errored, handled by dbt) is a
verdict, read from the summary, not a failed attempt; 2 (dbt itself failed) still fails it."""


def results_file(task: DbtTask) -> str:
    """Where dbt writes the results of `task.command`."""
    name = "sources.json" if DbtCommand(task.command) == DbtCommand.SOURCE_FRESHNESS else "run_results.json"
    return f"{task.project_dir.rstrip('/')}/target/{name}" if task.project_dir else f"target/{name}"


def build_dbt_args(task: DbtTask) -> list[str]:
    """`COMMAND --select … --exclude … --project-dir … --profiles-dir … --target … --vars …`."""
    args = DbtCommand(task.command).value.split()
    for selector in task.select or []:
        args += ["--select", selector]
    for selector in task.exclude or []:
        args += ["--exclude", selector]
    if task.project_dir:
        args += ["--project-dir", task.project_dir]
    if task.profiles_from:
        args += ["--profiles-dir", PROFILES_DIR]
    elif task.project_dir:
        args += ["--profiles-dir", task.project_dir]
    if task.target:
        args += ["--target", task.target]
    if task.vars:
        args += ["--vars", json.dumps(task.vars, sort_keys=True, separators=(",", ":"))]
    if task.full_refresh:
        args.append("--full-refresh")
    if task.threads:
        args += ["--threads", str(task.threads)]
    return args


def build_dbt_kind(task: DbtTask, check: bool = False) -> KindPod:
    """The dbt container, and the profiles Secret volume when `profilesFrom` is set."""
    env = [{"name": RESULTS_ENV, "value": results_file(task)}]
    wrapper = CHECK_WRAPPER if check else WRAPPER
    container = build_container(task.image, ["sh", "-c", wrapper, "dbt"], build_dbt_args(task), env)
    volumes: tuple[dict[str, Any], ...] = ()
    if task.profiles_from:
        container["volumeMounts"] = [{"name": PROFILES_VOLUME, "mountPath": PROFILES_DIR, "readOnly": True}]
        volumes = ({"name": PROFILES_VOLUME, "secret": {"secretName": task.profiles_from}},)
    return KindPod(container, volumes)
