"""The operator's RBAC as a table a reader checks: what each API call and kopf itself need.

Every API call the operator makes is a function in operator/dagwright/kube/resources.py (the
only module that calls the API server): `API_CALLS` says what each needs when the operator calls
it, `KOPF_NEEDS` what kopf itself does. tests/unit/test_chart.py checks the table against the
code (no helm needed); tests/chart/test_chart_template.py checks that the chart's rendered rules
are exactly this table (a verb more or less fails); tests/cluster/test_chart.py proves on a real
API server that they are enough.
"""

from __future__ import annotations

from collections import defaultdict

Need = tuple[str, str, str]  # (apiGroup, resource, verb)

# What the operator needs when it calls each function of kube/resources.py. `()` marks a
# function only the user CLI calls (it runs with the user's own rights, not the operator's).
API_CALLS: dict[str, tuple[Need, ...]] = {
    "create_job": (("batch", "jobs", "create"),),
    "get_job": (("batch", "jobs", "get"),),  # adopt an existing Job after 409 AlreadyExists
    "suspend_job": (("batch", "jobs", "patch"),),  # cancel and timeouts
    "fail_job": (("batch", "jobs", "patch"),),  # an attempt whose pod cannot start
    "annotate_job": (("batch", "jobs", "patch"),),  # a timed-out attempt keeps its log tail
    "create_pod": (("", "pods", "create"),),  # taskResource: Pod
    "get_pod": (("", "pods", "get"),),  # taskResource: Pod, adopt on 409 / confirm a pod the cache lacks
    "delete_pod": (("", "pods", "delete"),),  # taskResource: Pod, cancel and pods that cannot start
    "annotate_pod": (("", "pods", "patch"),),  # taskResource: Pod, why an attempt that cannot start failed
    "pod_log_tail": (("", "pods/log", "get"),),  # read before the Job controller deletes the pod
    "create_configmap": (("", "configmaps", "create"),),  # largeOutputs collected from a task's log
    "get_configmap": (("", "configmaps", "get"),),  # largeOutputs: stored once, read when rendering
    "watch_jobs_path": (("batch", "jobs", "list"), ("batch", "jobs", "watch")),  # JobIndex, labelled Jobs only
    "watch_pods_path": (("", "pods", "list"), ("", "pods", "watch")),  # JobIndex, labelled pods only
    "list_pods": (("", "pods", "list"),),  # exit codes and termination messages of attempts
    "attempt_pods": (("", "pods", "list"), ("", "pods", "get")),  # an attempt's pod: its Job's, or its own (Pod mode)
    "pod_log": (),  # `dagwright logs`
    "get_custom": (("dagwright.io", "workflows", "get"), ("dagwright.io", "workflowruns", "get"),
                   ("dagwright.io", "pools", "get"),  # a Pool the watch has not shown yet
                   ("dagwright.io", "dataassets", "get")),  # record a materialization; asset triggers
    # the operator lists runs once at start (triggers must see them all); also `dagwright list`
    "list_custom": (("dagwright.io", "workflowruns", "list"),),
    "custom_path": (),  # `dagwright watch`: list + watch of one run by name
    "create_custom": (("dagwright.io", "workflowruns", "create"),  # the scheduler; workflow tasks' child runs
                      ("dagwright.io", "dataassets", "create")),  # an asset's first materialization
    "replace_status": (("dagwright.io", "dataassets/status", "update"),),  # materializations, resourceVersion-checked
    "patch_custom": (("dagwright.io", "workflowruns", "patch"),),  # Replace policy cancels a run; so does a parent its child
    "delete_custom": (("dagwright.io", "workflowruns", "delete"),),  # history limits
    "patch_status": (("dagwright.io", "workflows/status", "patch"), ("dagwright.io", "workflowruns/status", "patch"),
                     ("dagwright.io", "pools/status", "patch")),
    "get_secret_value": (("", "secrets", "get"),),  # notification URLs (urlFrom.secretKeyRef)
    "create_event": (("", "events", "create"),),
}

# kopf: list + watch of the served resources; patch of them (it removes finalizers it no longer
# needs, and writes its annotations when change handlers exist); Events it posts itself.
KOPF_NEEDS: tuple[Need, ...] = (
    ("dagwright.io", "workflows", "list"),
    ("dagwright.io", "workflows", "watch"),
    ("dagwright.io", "workflows", "patch"),
    ("dagwright.io", "workflowruns", "list"),
    ("dagwright.io", "workflowruns", "watch"),
    ("dagwright.io", "workflowruns", "patch"),
    ("dagwright.io", "pools", "list"),
    ("dagwright.io", "pools", "watch"),
    ("dagwright.io", "pools", "patch"),
    ("", "events", "create"),
)
# kopf, cluster-scoped, watching all namespaces: CRD observation. Watching named namespaces,
# kopf's scanning is off and the operator needs no cluster-scoped rule.
KOPF_CLUSTER_NEEDS: tuple[Need, ...] = (
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
)

# The same, as the table a reader checks: resource -> verbs.
OPERATOR_RULES = {
    ("batch", "jobs"): {"create", "get", "list", "watch", "patch"},
    ("", "pods"): {"create", "get", "list", "watch", "patch", "delete"},
    ("", "pods/log"): {"get"},
    ("", "configmaps"): {"create", "get"},
    ("", "events"): {"create"},
    ("", "secrets"): {"get"},
    ("dagwright.io", "workflows"): {"get", "list", "watch", "patch"},
    ("dagwright.io", "workflows/status"): {"patch"},
    ("dagwright.io", "workflowruns"): {"get", "list", "watch", "create", "patch", "delete"},
    ("dagwright.io", "workflowruns/status"): {"patch"},
    ("dagwright.io", "pools"): {"get", "list", "watch", "patch"},
    ("dagwright.io", "pools/status"): {"patch"},
    ("dagwright.io", "dataassets"): {"get", "create"},
    ("dagwright.io", "dataassets/status"): {"update"},
}
SPARK_RULES = {
    ("", "pods"): {"create", "get", "list", "watch", "delete"},
    ("", "services"): {"create", "get", "delete"},
    ("", "configmaps"): {"create", "get", "delete"},
    ("", "persistentvolumeclaims"): {"list", "delete"},
}


def needs_table(needs: tuple[Need, ...] | list[Need]) -> dict[tuple[str, str], set[str]]:
    table: dict[tuple[str, str], set[str]] = defaultdict(set)
    for group, resource, verb in needs:
        table[(group, resource)].add(verb)
    return dict(table)


def operator_needs() -> dict[tuple[str, str], set[str]]:
    return needs_table([need for needs in API_CALLS.values() for need in needs] + list(KOPF_NEEDS))
