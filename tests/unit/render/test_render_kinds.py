"""What each task kind renders: table tests over the whole Job, as a user would read it."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from dagwright.api.models import DbtTask, SparkTask, WorkflowSpec
from dagwright.render.job import RunIdentity, build_job
from dagwright.render.kind_dbt import SUMMARY, WRAPPER
from dagwright.render.kind_python import BOOTSTRAP, INLINE_SCRIPT_LIMIT, MAX_ENCODED_SCRIPT, split_script
from dagwright.render.kind_spark import pod_memory_mib, spark_memory_mib
from dagwright.render.templating import TemplateError

CONTEXT = {"params.date": "2026-11-24", "run.name": "daily-1", "run.namespace": "data"}
RUN = RunIdentity(name="daily-1", namespace="data", uid="u-1", workflow="daily", template_context=CONTEXT)


def render(kind: str, body: dict[str, Any], **task: Any) -> dict[str, Any]:
    """The pod spec of attempt 1 of a one-task workflow."""
    spec = WorkflowSpec.model_validate({"tasks": [{"name": "t", kind: body, **task}]})
    return build_job(RUN, spec, spec.tasks[0], 1)["spec"]["template"]["spec"]


def main(pod: dict[str, Any]) -> dict[str, Any]:
    return pod["containers"][0]


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def conf(container: dict[str, Any]) -> dict[str, str]:
    command = container["command"]
    pairs = [command[i + 1] for i, word in enumerate(command) if word == "--conf"]
    return dict(p.split("=", 1) for p in pairs)


def flag(container: dict[str, Any], name: str, where: str = "command") -> str | None:
    words = container.get(where) or []
    return words[words.index(name) + 1] if name in words else None


# --------------------------------------------------------------------------- every kind

EVERY_KIND = {
    "python": {"image": "python:3.12-slim", "script": "print(1)"},
    "spark": {"image": "apache/spark:3.5.3", "mainApplicationFile": "local:///app.py"},
    "dbt": {"image": "ghcr.io/dbt-labs/dbt-postgres:1.8.2"},
    "container": {"image": "busybox:1.36", "command": ["true"]},
}


@pytest.mark.parametrize("kind", EVERY_KIND, ids=lambda k: f"a {k} task")
def test_every_kind_falls_back_to_its_log_and_says_where_outputs_go(kind):
    container = main(render(kind, EVERY_KIND[kind]))
    assert container["name"] == "main"
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert env(container)["DAGWRIGHT_OUTPUTS"] == "/dev/termination-log"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


# --------------------------------------------------------------------------- python


@pytest.mark.parametrize(
    "body, command, args",
    [
        ({"script": "print(1)"}, ["python", "-c", "print(1)"], None),
        ({"script": "import sys; print(sys.argv)", "args": ["{{ params.date }}"]},
         ["python", "-c", "import sys; print(sys.argv)"], ["2026-11-24"]),
        ({"script": "print('{{ run.name }}')"}, ["python", "-c", "print('daily-1')"], None),
        ({"script": "print('$HOME costs $(X) or $$')"}, ["python", "-c", "print('$$HOME costs $$(X) or $$$$')"], None),
        ({"module": "acme.export", "args": ["--date={{ params.date }}"]},
         ["python", "-m", "acme.export"], ["--date=2026-11-24"]),
    ],
    ids=[
        "a small script runs inline with python -c",
        "args are templated and follow the script",
        "templates inside an inline script are filled in",
        "dollars in a script are escaped so Kubernetes does not expand $(VAR)",
        "a module runs with python -m",
    ],
)
def test_python_renders(body, command, args):
    container = main(render("python", {"image": "python:3.12-slim", **body}))
    assert container["command"] == command
    assert container.get("args") == args
    assert env(container)["PYTHONUNBUFFERED"] == "1"


def test_python_user_env_is_kept_and_templated():
    container = main(render("python", {"image": "p", "module": "m", "env": [{"name": "DAY", "value": "{{ params.date }}"}]}))
    assert env(container)["DAY"] == "2026-11-24"


def big_script(size: int) -> str:
    line = "x = 1  # padding padding padding padding padding padding\n"
    tail = "print('{{ params.date }}', '{{run.name}}', sys.argv[1:], __name__)\n"
    return "import sys\n" + line * (size // len(line) + 1) + tail


def test_a_script_over_the_limit_ships_compressed_in_an_env_var_with_a_small_bootstrap():
    container = main(render("python", {"image": "p", "script": big_script(INLINE_SCRIPT_LIMIT), "args": ["a"]}))
    assert container["command"] == ["python", "-c", BOOTSTRAP]
    assert len(json.dumps(container)) < 2000
    variables = env(container)
    assert variables["DAGWRIGHT_SCRIPT_VAR_0"] == "2026-11-24"
    assert variables["DAGWRIGHT_SCRIPT_VAR_1"] == "daily-1"
    parts = json.loads(gzip.decompress(base64.b64decode(variables["DAGWRIGHT_SCRIPT_GZ"])))
    assert parts[-2:] == [1, "', sys.argv[1:], __name__)\n"]


def test_the_bootstrap_runs_the_script_as_main_with_its_args_and_template_values():
    container = main(render("python", {"image": "p", "script": big_script(3 * INLINE_SCRIPT_LIMIT), "args": ["a", "b"]}))
    child_env = {**os.environ, **{k: v for k, v in env(container).items() if isinstance(v, str)}}
    out = subprocess.run([sys.executable, *container["command"][1:], *container["args"]], env=child_env,
                         capture_output=True, text=True, check=True).stdout
    assert out == "2026-11-24 daily-1 ['a', 'b'] __main__\n"


def test_a_script_near_the_largest_payload_still_starts():
    blob = base64.b64encode(os.urandom(70 * 1024)).decode()
    script = f"import sys\nblob = '{blob}'\nprint(len(blob), sys.argv[1:])\n"
    container = main(render("python", {"image": "p", "script": script, "args": ["x"]}))
    variables = {k: v for k, v in env(container).items() if isinstance(v, str)}
    assert 0.6 * MAX_ENCODED_SCRIPT < len(variables["DAGWRIGHT_SCRIPT_GZ"]) <= MAX_ENCODED_SCRIPT
    out = subprocess.run([sys.executable, *container["command"][1:], *container["args"]], env={**os.environ, **variables},
                         capture_output=True, text=True, check=True).stdout
    assert out == f"{len(blob)} ['x']\n"


def test_a_script_at_the_limit_stays_inline():
    script = "#" * (INLINE_SCRIPT_LIMIT - 1) + "\n"
    assert main(render("python", {"image": "p", "script": script}))["command"][2] == script


def test_an_unknown_template_name_in_a_large_script_is_still_an_error():
    with pytest.raises(TemplateError, match="params.nope"):
        render("python", {"image": "p", "script": big_script(INLINE_SCRIPT_LIMIT).replace("params.date", "params.nope")})


def test_a_script_too_large_even_compressed_is_refused_with_advice():
    script = "x = '" + base64.b64encode(os.urandom(MAX_ENCODED_SCRIPT)).decode() + "'\n"
    with pytest.raises(ValueError, match="module"):
        render("python", {"image": "p", "script": script})


@pytest.mark.parametrize(
    "script, parts, names",
    [
        ("print(1)", ["print(1)"], []),
        ("{{ a.b }}", [0], ["a.b"]),
        ("x{{a.b}}y{{ a.b }}z{{ c.d }}", ["x", 0, "y", 0, "z", 1], ["a.b", "c.d"]),
        ("{{ a.b }}{{ a.bc }}", [0, 1], ["a.b", "a.bc"]),
    ],
    ids=["no placeholder", "only a placeholder", "a name used twice gets one index",
         "a name that prefixes another stays distinct"],
)
def test_split_script(script, parts, names):
    assert split_script(script) == (parts, names)


# --------------------------------------------------------------------------- spark

SPARK = {"image": "apache/spark:3.5.3", "mainApplicationFile": "local:///opt/app.py"}


@pytest.mark.parametrize(
    "body, master, resources",
    [
        ({}, "local[*]", None),
        ({"driver": {"cores": 2}}, "local[2]", {"requests": {"cpu": "2"}}),
        ({"driver": {"cores": 4, "memory": "4g"}, "mainApplicationFile": "local:///app.jar", "mainClass": "a.B"},
         "local[4]", {"requests": {"cpu": "4", "memory": "4506Mi"}, "limits": {"memory": "4506Mi"}}),
        ({"driver": {"memory": "4g"}}, "local[*]", {"requests": {"memory": "5735Mi"}, "limits": {"memory": "5735Mi"}}),
        ({"driver": {"memory": "1g"}}, "local[*]", {"requests": {"memory": "1434Mi"}, "limits": {"memory": "1434Mi"}}),
        ({"driver": {"memory": "512m"}, "mainApplicationFile": "x.jar"}, "local[*]",
         {"requests": {"memory": "896Mi"}, "limits": {"memory": "896Mi"}}),
    ],
    ids=[
        "local mode without driver settings uses every core and sets no resources",
        "driver cores choose local[N] and the CPU request",
        "a JVM application's pod memory is the heap plus 10 percent overhead",
        "a Python application's pod memory is the heap plus 40 percent overhead",
        "small heaps get at least 384 MiB of overhead (python)",
        "small heaps get at least 384 MiB of overhead (JVM)",
    ],
)
def test_spark_local_mode(body, master, resources):
    container = main(render("spark", {**SPARK, **body}))
    assert container["command"][:5] == ["/opt/spark/bin/spark-submit", "--master", master, "--deploy-mode", "client"]
    assert container.get("resources") == resources
    assert "ports" not in container


def test_spark_local_mode_passes_class_driver_memory_conf_and_args_in_order():
    container = main(render("spark", {**SPARK, "mainApplicationFile": "local:///app.jar", "mainClass": "a.Main",
                                      "driver": {"memory": "2g"}, "args": ["--day", "{{ params.date }}"],
                                      "conf": {"spark.b": "2", "spark.a": "1"}}))
    command = container["command"]
    assert flag(container, "--class") == "a.Main"
    assert flag(container, "--driver-memory") == "2g"
    assert flag(container, "--name") == "t"
    assert command[-1] == "local:///app.jar"
    assert [c for c in command if c.startswith("spark.")] == ["spark.a=1", "spark.b=2"]
    assert container["args"] == ["--day", "2026-11-24"]


def test_spark_packages_become_one_packages_flag_with_a_writable_ivy_cache():
    container = main(render("spark", {**SPARK, "packages": ["a:b:1", "c:d:2"]}))
    assert flag(container, "--packages") == "a:b:1,c:d:2"
    assert conf(container)["spark.jars.ivy"] == "/tmp/.ivy2"


def test_spark_executor_settings_become_spark_conf():
    container = main(render("spark", {**SPARK, "executor": {"cores": 3, "memory": "6g"}, "executors": {"instances": 5}}))
    assert conf(container) == {"spark.executor.cores": "3", "spark.executor.memory": "6g",
                               "spark.executor.instances": "5"}


def test_spark_kubernetes_mode_makes_the_task_pod_the_driver_of_executor_pods():
    pod = render("spark", {**SPARK, "mode": "kubernetes", "executors": {"instances": 2}})
    container = main(pod)
    assert flag(container, "--master") == "k8s://https://kubernetes.default.svc"
    assert flag(container, "--deploy-mode") == "client"
    settings = conf(container)
    assert settings["spark.driver.host"] == "$(POD_IP)"
    assert settings["spark.kubernetes.driver.pod.name"] == "$(POD_NAME)"
    assert settings["spark.kubernetes.namespace"] == "$(POD_NAMESPACE)"
    assert settings["spark.kubernetes.container.image"] == "apache/spark:3.5.3"
    assert settings["spark.kubernetes.authenticate.driver.serviceAccountName"] == "$(POD_SERVICE_ACCOUNT)"
    assert settings["spark.driver.port"] == "7078"
    assert settings["spark.driver.blockManager.port"] == "7079"
    variables = env(container)
    assert variables["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert variables["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert variables["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert {p["containerPort"] for p in container["ports"]} == {7078, 7079, 4040}
    assert pod["serviceAccountName"] == "dagwright-spark"


@pytest.mark.parametrize(
    "task, defaults, expected",
    [
        ({}, {}, "dagwright-spark"),
        ({}, {"serviceAccountName": "dagwright-task"}, "dagwright-spark"),
        ({"serviceAccountName": "etl-spark"}, {"serviceAccountName": "dagwright-task"}, "etl-spark"),
    ],
    ids=["kubernetes mode runs as dagwright-spark by default",
         "the workflow-wide default ServiceAccount cannot create pods, so dagwright-spark wins over it",
         "the task's own ServiceAccount wins"],
)
def test_spark_kubernetes_service_account(task, defaults, expected):
    spec = WorkflowSpec.model_validate({"defaults": defaults, "tasks": [
        {"name": "t", "spark": {**SPARK, "mode": "kubernetes"}, **task}]})
    assert build_job(RUN, spec, spec.tasks[0], 1)["spec"]["template"]["spec"]["serviceAccountName"] == expected


def test_spark_local_mode_keeps_the_default_service_account():
    spec = WorkflowSpec.model_validate({"defaults": {"serviceAccountName": "dagwright-task"},
                                        "tasks": [{"name": "t", "spark": SPARK}]})
    assert build_job(RUN, spec, spec.tasks[0], 1)["spec"]["template"]["spec"]["serviceAccountName"] == "dagwright-task"


def test_spark_conf_wins_over_what_the_fields_imply():
    container = main(render("spark", {**SPARK, "mode": "kubernetes", "executor": {"cores": 2},
                                      "conf": {"spark.executor.cores": "8", "spark.driver.port": "9000"}}))
    settings = conf(container)
    assert settings["spark.executor.cores"] == "8"
    assert settings["spark.driver.port"] == "9000"
    assert sum(c.startswith("spark.driver.port=") for c in container["command"]) == 1


def test_pod_template_resources_win_over_the_driver_sizing():
    pod = render("spark", {**SPARK, "driver": {"cores": 2, "memory": "2g"}},
                 podTemplate={"spec": {"containers": [{"name": "main", "resources": {"limits": {"cpu": "3"}}}]}})
    assert main(pod)["resources"]["limits"] == {"memory": "2868Mi", "cpu": "3"}


@pytest.mark.parametrize("text, mib", [("512m", 512), ("4g", 4096), ("4G", 4096), ("2gb", 2048), ("100", 100),
                                       ("1t", 1048576), ("2048k", 2)],
                         ids=lambda v: str(v))
def test_spark_memory_strings_read_as_spark_reads_them(text, mib):
    assert spark_memory_mib(text) == mib


@pytest.mark.parametrize("memory", ["lots", "4 g", "0g", "-1g", "4gib"])
def test_a_spark_memory_spark_cannot_read_is_refused_by_the_model(memory):
    with pytest.raises(ValidationError):
        SparkTask.model_validate({**SPARK, "driver": {"memory": memory}})


def test_pod_memory_overhead():
    assert pod_memory_mib(1024, non_jvm=False) == 1024 + 384
    assert pod_memory_mib(10240, non_jvm=False) == 10240 + 1024
    assert pod_memory_mib(10240, non_jvm=True) == 10240 + 4096


def test_spark_mode_is_local_or_kubernetes():
    with pytest.raises(ValidationError):
        SparkTask.model_validate({**SPARK, "mode": "yarn"})


# --------------------------------------------------------------------------- dbt

DBT = {"image": "ghcr.io/dbt-labs/dbt-postgres:1.8.2"}


@pytest.mark.parametrize(
    "body, args",
    [
        ({}, ["build"]),
        ({"command": "source freshness"}, ["source", "freshness"]),
        ({"command": "run", "select": ["tag:a", "b+"], "exclude": ["tag:slow"]},
         ["run", "--select", "tag:a", "--select", "b+", "--exclude", "tag:slow"]),
        ({"projectDir": "/dbt"}, ["build", "--project-dir", "/dbt", "--profiles-dir", "/dbt"]),
        ({"projectDir": "/dbt", "profilesFrom": "prof"},
         ["build", "--project-dir", "/dbt", "--profiles-dir", "/dagwright/dbt-profiles"]),
        ({"target": "prod", "threads": 8}, ["build", "--target", "prod", "--threads", "8"]),
        ({"vars": {"day": "{{ params.date }}", "n": 1, "nested": {"a": [1]}}},
         ["build", "--vars", '{"day":"2026-11-24","n":1,"nested":{"a":[1]}}']),
        ({"command": "seed", "fullRefresh": True}, ["seed", "--full-refresh"]),
        ({"command": "run", "fullRefresh": False}, ["run"]),
    ],
    ids=[
        "the default command is build",
        "source freshness is two words",
        "select and exclude repeat per selector",
        "without profilesFrom the profiles dir is the project dir",
        "profilesFrom points the profiles dir at the mounted Secret",
        "target and threads are flags",
        "vars become one JSON argument, templated",
        "fullRefresh adds --full-refresh",
        "fullRefresh false adds nothing",
    ],
)
def test_dbt_args(body, args):
    container = main(render("dbt", {**DBT, **body}))
    assert container["command"] == ["sh", "-c", WRAPPER, "dbt"]
    assert container["args"] == args


def test_dbt_profiles_from_mounts_the_secret_read_only():
    pod = render("dbt", {**DBT, "profilesFrom": "warehouse-profiles"})
    assert pod["volumes"] == [{"name": "dbt-profiles", "secret": {"secretName": "warehouse-profiles"}}]
    assert main(pod)["volumeMounts"] == [{"name": "dbt-profiles", "mountPath": "/dagwright/dbt-profiles", "readOnly": True}]


@pytest.mark.parametrize(
    "body, path",
    [({}, "target/run_results.json"), ({"projectDir": "/dbt/"}, "/dbt/target/run_results.json"),
     ({"command": "source freshness", "projectDir": "/dbt"}, "/dbt/target/sources.json")],
    ids=["relative to the working dir without a project dir", "inside the project dir",
         "source freshness writes sources.json"],
)
def test_dbt_summary_reads_the_results_file_of_the_command(body, path):
    assert env(main(render("dbt", {**DBT, **body})))["DAGWRIGHT_DBT_RESULTS"] == path


@pytest.mark.parametrize("command", ["test", "snapshot", "source freshness", "compile"])
def test_full_refresh_only_goes_with_build_run_or_seed(command):
    with pytest.raises(ValidationError, match="fullRefresh"):
        DbtTask.model_validate({**DBT, "command": command, "fullRefresh": True})


@pytest.mark.parametrize("command", ["deploy", "run-operation", "build; rm -rf /", ""])
def test_a_dbt_command_outside_the_allowed_set_is_refused(command):
    with pytest.raises(ValidationError):
        DbtTask.model_validate({**DBT, "command": command})


def test_the_wrapper_is_left_alone_by_kubernetes_expansion_and_by_templating():
    assert "$(" not in WRAPPER and "$$" not in WRAPPER and "{{" not in WRAPPER
    assert "'" not in SUMMARY and "$" not in SUMMARY


def _fake_dbt(tmp_path, results: dict | None, exit_code: int) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    results_file = tmp_path / "target" / "run_results.json"
    results_file.parent.mkdir()
    write = f"cat > {results_file} <<'EOF'\n{json.dumps(results)}\nEOF\n" if results is not None else ""
    (bin_dir / "dbt").write_text(f"#!/bin/sh\necho dbt \"$@\"\n{write}exit {exit_code}\n")
    (bin_dir / "dbt").chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "DAGWRIGHT_DBT_RESULTS": str(results_file),
            "DAGWRIGHT_OUTPUTS": str(tmp_path / "termination-log")}


RESULTS = {"elapsed_time": 9.43, "results": [
    {"unique_id": "model.shop.a", "status": "success"}, {"unique_id": "model.shop.b", "status": "error"},
    {"unique_id": "test.shop.c", "status": "pass"}, {"unique_id": "test.shop.d", "status": "fail"},
    {"unique_id": "test.shop.e", "status": "warn"}, {"unique_id": "model.shop.f", "status": "skipped"},
    {"unique_id": "seed.shop.g", "status": "runtime error"}]}


@pytest.mark.parametrize("exit_code", [0, 1, 2], ids=["dbt succeeded", "dbt failed", "dbt crashed"])
def test_the_wrapper_keeps_dbts_exit_code_and_writes_a_summary(tmp_path, exit_code):
    variables = _fake_dbt(tmp_path, RESULTS, exit_code)
    proc = subprocess.run(["sh", "-c", WRAPPER, "dbt", "build", "--select", "tag:a b"], env=variables,
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == exit_code
    assert proc.stdout == "dbt build --select tag:a b\n"
    summary = json.loads((tmp_path / "termination-log").read_text())
    assert summary == {"exitCode": exit_code, "total": 7, "passed": 2, "failed": 1, "error": 2, "skipped": 1,
                       "warned": 1, "elapsedSeconds": 9.4,
                       "failures": "model.shop.b,test.shop.d,seed.shop.g"}


def test_the_summary_stays_under_one_kib_for_thousands_of_failures(tmp_path):
    many = {"results": [{"unique_id": f"model.project.a_rather_long_model_name_{i}", "status": "error"}
                        for i in range(5000)]}
    variables = _fake_dbt(tmp_path, many, 1)
    subprocess.run(["sh", "-c", WRAPPER, "dbt", "run"], env=variables, capture_output=True, timeout=30, check=False)
    text = (tmp_path / "termination-log").read_text()
    assert len(text.encode()) < 1024
    assert json.loads(text)["failures"].endswith(",...")


def test_without_results_the_wrapper_writes_nothing_so_the_log_tail_is_kept(tmp_path):
    variables = _fake_dbt(tmp_path, None, 2)
    proc = subprocess.run(["sh", "-c", WRAPPER, "dbt", "run"], env=variables, capture_output=True, timeout=30, check=False)
    assert proc.returncode == 2
    assert (tmp_path / "termination-log").read_text() == ""


def test_stale_results_from_the_image_are_not_reported(tmp_path):
    variables = _fake_dbt(tmp_path, None, 2)
    (tmp_path / "target" / "run_results.json").write_text(json.dumps(RESULTS))
    subprocess.run(["sh", "-c", WRAPPER, "dbt", "run"], env=variables, capture_output=True, timeout=30, check=False)
    assert (tmp_path / "termination-log").read_text() == ""


# --------------------------------------------------------------------------- container


def test_container_renders_command_args_env_and_working_dir():
    container = main(render("container", {"image": "busybox", "command": ["sh", "-c"], "args": ["echo {{ params.date }}"],
                                          "env": [{"name": "A", "value": "{{ run.name }}"}], "workingDir": "/w"}))
    assert container["command"] == ["sh", "-c"]
    assert container["args"] == ["echo 2026-11-24"]
    assert env(container)["A"] == "daily-1"
    assert container["workingDir"] == "/w"
