"""The dbt and spark task kinds for real, on the local cluster's real node, with the images built here.

`localhost/dagwright/spark:3.5` runs a PySpark application in local mode (the driver and its
executor threads in the task pod); `localhost/dagwright/dbt:1.10-spark` runs `dbt build` of a tiny
project through dbt-spark's `session` method (Spark inside the dbt process). Each test checks
what a user checks: the run's phase, the task's outputs (the app's own JSON; dbt's summary of
run_results.json), and `dagwright logs`. The projects come from ConfigMaps: nothing is downloaded.
JVM start-up makes each task take 15-40 s here, so the limits are generous.
"""

from __future__ import annotations

import pytest

from .test_realnode import RUN_TIMEOUT, dagwright, py, spec

SPARK_IMAGE = "localhost/dagwright/spark:3.5"
DBT_IMAGE = "localhost/dagwright/dbt:1.10-spark"

SPARK_APP = """\
import json, os, sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("sum").config("spark.ui.enabled", "false").getOrCreate()
n = int(sys.argv[1])
row = spark.range(1, n + 1).selectExpr("sum(id) AS s", "count(*) AS c").first()
print(f"RESULT spark {spark.version}: sum={row.s} count={row.c} master={spark.sparkContext.master}")
with open(os.environ["DAGWRIGHT_OUTPUTS"], "w") as out:
    json.dump({"sum": row.s, "count": row.c, "version": spark.version}, out)
spark.stop()
"""

DBT_PROJECT = {
    "dbt_project.yml": "name: tiny\nversion: '1.0.0'\nprofile: tiny\nmodels:\n  tiny:\n"
                       "    +materialized: table\n    +file_format: parquet\n",
    "profiles.yml": "tiny:\n  target: local\n  outputs:\n    local:\n      type: spark\n      method: session\n"
                    "      host: NA\n      schema: tiny\n      threads: 1\n      server_side_parameters:\n"
                    "        spark.sql.catalogImplementation: in-memory\n"
                    "        spark.sql.warehouse.dir: /tmp/warehouse\n        spark.ui.enabled: 'false'\n"
                    "        spark.master: local[1]\n",
    "models__orders.sql": "select 1 as id, 19.5 as amount union all select 2, 30.25 union all select 3, 0.0",
    "models__revenue.sql": "select count(*) as orders, sum(amount) as revenue from {{ ref('orders') }}",
    "models__schema.yml": "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n"
                          "        data_tests: [unique, not_null]\n",
}
# The project is copied from its ConfigMap into a writable dir (dbt writes target/ and logs/ there).
COPY_PROJECT = ('for f in /config/*; do p="/work/tiny/$(basename "$f" | sed "s,__,/,g")"; '
                'mkdir -p "$(dirname "$p")"; cp "$f" "$p"; done')

pytestmark = pytest.mark.realnode


def test_a_spark_task_runs_pyspark_in_local_mode_and_passes_its_outputs_on(kube, operator, kube_env):
    kube.core.create_namespaced_config_map(kube.ns, {"metadata": {"name": "spark-app"}, "data": {"sum.py": SPARK_APP}})
    total = {"name": "total", "spark": {"image": SPARK_IMAGE, "mode": "local", "mainApplicationFile": "/opt/app/sum.py",
                                        "args": ["1000"], "driver": {"cores": 1, "memory": "512m"}},
             "podTemplate": {"spec": {"containers": [{"name": "main", "volumeMounts": [
                 {"name": "app", "mountPath": "/opt/app", "readOnly": True}]}],
                 "volumes": [{"name": "app", "configMap": {"name": "spark-app"}}]}}}
    check = py("check", "import sys\nprint('spark said', sys.argv[1])\nassert sys.argv[1] == '500500'\n",
               python={"args": ["{{ tasks.total.outputs.sum }}"]}, dependsOn=["total"])
    kube.create_run("spark", spec=spec(total, check))
    run = kube.wait_for_phase("spark", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert run["status"]["tasks"]["total"]["outputs"] == {"sum": "500500", "count": "1000", "version": "3.5.7"}
    logs = dagwright(kube_env, kube.ns, "logs", "spark", "total")
    assert logs.returncode == 0, logs.stderr
    assert "RESULT spark 3.5.7: sum=500500 count=1000 master=local[1]" in logs.stdout
    assert "spark said 500500" in dagwright(kube_env, kube.ns, "logs", "spark", "check").stdout


@pytest.mark.parametrize("broken", [False, True], ids=["a-project-builds", "a-failing-test-fails-the-task"])
def test_a_dbt_task_builds_a_project_with_dbt_spark_and_reports_its_results(kube, operator, kube_env, broken):
    project = dict(DBT_PROJECT)
    if broken:  # a second row with id 1: the unique test fails, dbt exits 1
        project["models__orders.sql"] += " union all select 1, 5.0"
    kube.core.create_namespaced_config_map(kube.ns, {"metadata": {"name": "tiny"}, "data": project})
    build = {"name": "build", "retries": {"limit": 0},
             "dbt": {"image": DBT_IMAGE, "command": "build", "projectDir": "/work/tiny"},
             "podTemplate": {"spec": {
                 "initContainers": [{"name": "project", "image": DBT_IMAGE, "command": ["sh", "-c", COPY_PROJECT],
                                     "volumeMounts": [{"name": "config", "mountPath": "/config"},
                                                      {"name": "work", "mountPath": "/work"}]}],
                 "containers": [{"name": "main", "volumeMounts": [{"name": "work", "mountPath": "/work"}]}],
                 "volumes": [{"name": "config", "configMap": {"name": "tiny"}}, {"name": "work", "emptyDir": {}}]}}}
    # A dependent reads the summary the dbt kind makes of run_results.json.
    report = py("report", "import sys\nprint('dbt ran', sys.argv[1], 'nodes,', sys.argv[2], 'passed')\n",
                python={"args": ["{{ tasks.build.outputs.total }}", "{{ tasks.build.outputs.passed }}"]},
                dependsOn=["build"])
    kube.create_run("dbt", spec=spec(build, report))
    run = kube.wait_for_phase("dbt", timeout=RUN_TIMEOUT)
    task = run["status"]["tasks"]["build"]
    logs = dagwright(kube_env, kube.ns, "logs", "dbt", "build")
    assert logs.returncode == 0, logs.stderr
    if not broken:
        assert run["status"]["phase"] == "Succeeded", run["status"]
        # two models + two tests, all passed
        assert task["outputs"]["total"] == "4" and task["outputs"]["passed"] == "4", task
        assert task["outputs"]["exitCode"] == "0"
        assert "Completed successfully" in logs.stdout
        assert "dbt ran 4 nodes, 4 passed" in dagwright(kube_env, kube.ns, "logs", "dbt", "report").stdout
    else:
        assert run["status"]["phase"] == "Failed"
        assert task["message"].startswith("attempt 1 failed: exit code 1: ")
        assert "test.tiny.unique_orders_id" in task["message"]
        assert "Failure in test unique_orders_id" in logs.stdout
        assert run["status"]["tasks"]["report"]["phase"] == "Skipped"
