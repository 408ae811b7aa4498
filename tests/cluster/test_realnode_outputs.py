"""largeOutputs on the real node: a 100 KiB output read by a dependent, and an oversized one refused.

The wrapper really runs in the task's image (/bin/sh and coreutils of the python image), the
kubelet really keeps the pod's log, and the operator really reads its last lines back into a
ConfigMap owned by the run. Same conventions as test_realnode.py (its helpers and fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_realnode import RUN_TIMEOUT, dagwright, py, real_node, spec  # noqa: F401 - real_node: autouse fixture

pytestmark = pytest.mark.realnode
REPO = Path(__file__).resolve().parents[2]

PRODUCE_100K = ("import json, os\n"
                "print('producing 100 KiB')\n"
                "json.dump({'blob': 'x' * 100_000, 'rows': 12345}, open(os.environ['DAGWRIGHT_OUTPUTS'], 'w'))\n")


def test_a_100k_output_reaches_its_dependent_through_a_configmap_and_stays_out_of_the_status(kube, operator, kube_env):
    produce = py("produce", PRODUCE_100K, largeOutputs=True)
    consume = py("consume", "import sys\nprint('consumer got', len(sys.argv[1]), 'bytes and', sys.argv[2], 'rows')\n",
                 python={"args": ["{{ tasks.produce.outputs.blob }}", "{{ tasks.produce.outputs.rows }}"]},
                 dependsOn=["produce"])
    kube.create_run("big", spec=spec(produce, consume))
    run = kube.wait_for_phase("big", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    produced = run["status"]["tasks"]["produce"]
    assert "outputs" not in produced and produced["outputsRef"].endswith("-outputs")
    assert len(json.dumps(run["status"])) < 8192  # the 100 KiB never entered the status
    configmap = kube.core.read_namespaced_config_map(produced["outputsRef"], kube.ns)
    assert configmap.immutable is True
    assert configmap.metadata.owner_references[0].kind == "WorkflowRun"
    assert configmap.metadata.owner_references[0].name == "big"
    assert json.loads(configmap.data["outputs.json"]) == {"blob": "x" * 100_000, "rows": 12345}
    logs = dagwright(kube_env, kube.ns, "logs", "big", "consume")
    assert logs.returncode == 0, logs.stderr
    assert "consumer got 100000 bytes and 12345 rows" in logs.stdout


def test_an_output_over_256k_fails_the_task_with_its_real_size(kube, operator):
    oversized = ("import os\nopen(os.environ['DAGWRIGHT_OUTPUTS'], 'w').write('{\"a\": \"' + 'z' * 300000 + '\"}')\n")
    kube.create_run("too-big", spec=spec(py("produce", oversized, largeOutputs=True)))
    run = kube.wait_for_phase("too-big", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Failed", run["status"]
    assert run["status"]["tasks"]["produce"]["message"] == (
        "attempt 1 failed: outputs too large: 300009 bytes (limit 262144)")


def test_the_large_outputs_example_lists_2000_files_for_its_dependent(kube, operator, kube_env):
    import yaml

    example = yaml.safe_load((REPO / "examples" / "real-node" / "large-outputs.yaml").read_text())
    kube.create_run("listing", spec=example["spec"])
    run = kube.wait_for_phase("listing", timeout=RUN_TIMEOUT)
    assert run["status"]["phase"] == "Succeeded", run["status"]
    logs = dagwright(kube_env, kube.ns, "logs", "listing", "load")
    assert "loading 2000 files, first s3://landing/2026-12-06/part-00000.json last " \
           "s3://landing/2026-12-06/part-01999.json" in logs.stdout, logs.stdout + logs.stderr
