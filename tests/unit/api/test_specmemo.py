"""`per_spec` memoises per spec object (never across specs), and `spec_traits` reads the features."""

from __future__ import annotations

from dagwright.api.models import WorkflowSpec
from dagwright.api.specmemo import per_spec, spec_traits

PLAIN = {"tasks": [{"name": "a", "container": {"image": "x"}}]}


def test_per_spec_computes_once_per_spec_object_and_again_for_an_equal_but_other_object():
    calls: list[int] = []

    @per_spec
    def count(spec: WorkflowSpec) -> int:
        calls.append(1)
        return len(spec.tasks)

    first, equal = WorkflowSpec.model_validate(PLAIN), WorkflowSpec.model_validate(PLAIN)
    assert (count(first), count(first), count(equal)) == (1, 1, 1)
    assert len(calls) == 2


def test_a_plain_workflow_uses_none_of_the_optional_features():
    traits = spec_traits(WorkflowSpec.model_validate(PLAIN))
    assert (traits.produces_assets, traits.reads_run_context, traits.depends_on_past, traits.calls_workflows) \
        == (False, False, (), False)


def test_each_feature_is_seen():
    spec = WorkflowSpec.model_validate({"params": [{"name": "n", "default": "1"}], "tasks": [
        {"name": "a", "container": {"image": "x"}, "produces": [{"name": "lake.orders"}]},
        {"name": "b", "dependsOn": ["a"], "when": "params.n == '1'", "dependsOnPast": True,
         "container": {"image": "x"}},
        {"name": "c", "workflow": {"name": "ingest"}},
    ]})
    traits = spec_traits(spec)
    assert (traits.produces_assets, traits.reads_run_context, traits.depends_on_past, traits.calls_workflows) \
        == (True, True, ("b",), True)
