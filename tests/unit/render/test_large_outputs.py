"""largeOutputs: the wrapper run by a real /bin/sh, the manifest, the block read back from a log tail,
and what the rendered Job looks like."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dagwright.api.models import Task, WorkflowSpec
from dagwright.api.validation import validate_workflow_spec
from dagwright.render.job import RunIdentity, build_job
from dagwright.render.large_outputs import (
    MAX_LARGE_OUTPUT_BYTES,
    OUTPUTS_FILE,
    WRAPPER_SCRIPT,
    LogManifest,
    decode_block,
    outputs_configmap_name,
    outputs_from_json,
    parse_manifest,
)

RUN = RunIdentity(name="nightly", namespace="data", uid="u-1", workflow="etl")


def run_wrapped(tmp_path: Path, program: str) -> tuple[int, str, str | None]:
    """Run `python3 -c program` under the wrapper as a pod would: (exit code, log, termination message)."""
    outputs, manifest = tmp_path / "outputs.json", tmp_path / "termination-log"
    env = {**os.environ, "DAGWRIGHT_OUTPUTS": str(outputs), "DAGWRIGHT_MANIFEST_PATH": str(manifest)}
    done = subprocess.run(["/bin/sh", "-c", WRAPPER_SCRIPT, "dagwright-task", sys.executable, "-c", program],
                          env=env, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr, manifest.read_text() if manifest.exists() else None


def tail(log: str, lines: int) -> str:
    return "".join(log.splitlines(keepends=True)[-lines:])


WRITE_100K = ("import json, os; print('working...', end=''); "
              "json.dump({'blob': 'x' * 100_000, 'rows': 12345, 'files': ['a', 'b']}, "
              "open(os.environ['DAGWRIGHT_OUTPUTS'], 'w'))")


def test_a_100k_output_travels_through_the_log_tail_and_back(tmp_path: Path) -> None:
    code, log, message = run_wrapped(tmp_path, WRITE_100K)
    assert code == 0
    manifest = parse_manifest(message)
    assert manifest is not None and manifest.size > 100_000 and manifest.too_large() is None
    # The operator reads exactly the last lines the manifest announces, not the whole log.
    text, error = decode_block(tail(log, manifest.tail_lines()), manifest)
    assert error is None and text is not None
    outputs = outputs_from_json(text)
    assert len(outputs["blob"]) == 100_000
    assert outputs["rows"] == "12345" and json.loads(outputs["files"]) == ["a", "b"]


def test_the_block_is_found_after_a_log_line_without_a_newline(tmp_path: Path) -> None:
    _, log, message = run_wrapped(tmp_path, WRITE_100K)  # the task printed 'working...' without \n
    assert "working...\n::dagwright-outputs-begin::" in log
    manifest = parse_manifest(message)
    assert manifest is not None
    assert decode_block(tail(log, manifest.tail_lines()), manifest)[1] is None


def test_an_oversized_file_is_not_printed_and_fails_with_its_real_size(tmp_path: Path) -> None:
    size = MAX_LARGE_OUTPUT_BYTES + 1000
    program = f"import os; open(os.environ['DAGWRIGHT_OUTPUTS'], 'w').write('{{\"a\": \"' + 'y' * {size - 9} + '\"}}')"
    code, log, message = run_wrapped(tmp_path, program)
    assert code == 0 and "::dagwright-outputs-begin::" not in log
    manifest = parse_manifest(message)
    assert manifest is not None and manifest.size == size
    assert manifest.too_large() == f"outputs too large: {size} bytes (limit {MAX_LARGE_OUTPUT_BYTES})"


def test_a_failing_command_keeps_its_exit_code_and_publishes_nothing(tmp_path: Path) -> None:
    program = "import json, os, sys; json.dump({'a': 1}, open(os.environ['DAGWRIGHT_OUTPUTS'], 'w')); sys.exit(3)"
    code, log, message = run_wrapped(tmp_path, program)
    assert code == 3 and message is None and "::dagwright-outputs" not in log


def test_no_outputs_file_means_no_manifest(tmp_path: Path) -> None:
    code, _, message = run_wrapped(tmp_path, "print('hello')")
    assert code == 0 and message is None


@pytest.mark.parametrize("damage, error", [
    (lambda t: t.replace("::dagwright-outputs-end::", ""), "outputs block not found at the end of the task's log"),
    (lambda t: t.replace("eyJ", "eyK", 1), "outputs block in the task's log is damaged"),
    (lambda t: t.replace("eyJ", "!!!", 1), "outputs block in the task's log is not valid base64"),
])
def test_a_damaged_block_is_an_error_naming_it(tmp_path: Path, damage, error) -> None:  # type: ignore[no-untyped-def]
    _, log, message = run_wrapped(tmp_path, WRITE_100K)
    manifest = parse_manifest(message)
    assert manifest is not None
    text, found = decode_block(damage(tail(log, manifest.tail_lines())), manifest)
    assert text is None and found is not None and found.startswith(error)


def test_a_block_that_is_not_a_json_object_is_refused() -> None:
    import base64
    import hashlib
    data = b"[1, 2]"
    block = "::dagwright-outputs-begin::\n" + base64.b64encode(data).decode() + "\n::dagwright-outputs-end::\n"
    manifest = LogManifest(len(data), 1, hashlib.sha256(data).hexdigest())
    assert decode_block(block, manifest) == (None, "outputs must be a JSON object")


@pytest.mark.parametrize("message", [None, "", '{"rows": 3}', "not json", '{"dagwright.io/outputs-in-log": {"bytes": "x"}}'])
def test_plain_or_broken_termination_messages_are_not_manifests(message: str | None) -> None:
    assert parse_manifest(message) is None


def _job(task: dict, workflow_extra: dict | None = None) -> dict:  # type: ignore[type-arg]
    spec = WorkflowSpec.model_validate({"tasks": [task], **(workflow_extra or {})})
    return build_job(RUN, spec, spec.tasks[0], 1)


def test_a_large_outputs_task_runs_its_command_under_the_wrapper_with_an_outputs_volume() -> None:
    job = _job({"name": "list", "largeOutputs": True,
                "container": {"image": "busybox", "command": ["sh", "-c"], "args": ["echo $(HOME) > x"]}})
    pod = job["spec"]["template"]["spec"]
    main = pod["containers"][0]
    assert main["command"][:2] == ["/bin/sh", "-c"]
    assert main["command"][3:] == ["dagwright-task", "sh", "-c", "echo $(HOME) > x"]  # untouched: K8s expands as before
    assert "args" not in main
    assert "$$(wc -c" in main["command"][2]  # the wrapper's own $ survive Kubernetes' expansion
    assert {"name": "DAGWRIGHT_OUTPUTS", "value": OUTPUTS_FILE} in main["env"]
    assert [e["name"] for e in main["env"]].count("DAGWRIGHT_OUTPUTS") == 1
    assert {"name": "dagwright-outputs", "mountPath": "/dagwright/outputs"} in main["volumeMounts"]
    assert {"name": "dagwright-outputs", "emptyDir": {"sizeLimit": "1Mi"}} in pod["volumes"]


def test_a_plain_task_is_rendered_as_before() -> None:
    job = _job({"name": "list", "container": {"image": "busybox", "command": ["true"]}})
    main = job["spec"]["template"]["spec"]["containers"][0]
    assert main["command"] == ["true"] and "volumes" not in job["spec"]["template"]["spec"]
    assert {"name": "DAGWRIGHT_OUTPUTS", "value": "/dev/termination-log"} in main["env"]


def test_large_outputs_on_a_container_without_command_is_refused_by_name() -> None:
    spec = WorkflowSpec.model_validate({"tasks": [{"name": "x", "largeOutputs": True, "container": {"image": "busybox"}}]})
    problems = [str(p) for p in validate_workflow_spec(spec)]
    assert problems == ["spec.tasks[0] (x).largeOutputs: largeOutputs needs container.command: "
                        "Dagwright runs the command in a shell that collects the outputs file"]


def test_the_configmap_name_fits_a_kubernetes_name() -> None:
    assert outputs_configmap_name("a" * 63) == "a" * 63 + "-outputs"
    assert len(outputs_configmap_name("a" * 300)) <= 253
    assert Task.model_validate({"name": "t", "container": {"image": "x"}}).large_outputs is False
