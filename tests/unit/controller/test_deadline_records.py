"""A late run through the reconciler (in-memory API server): marked once, counted once, and its
deadline records never dropped by a status planned from an older one."""

from __future__ import annotations

import asyncio

from dagwright.controller import metrics
from dagwright.controller.store import run_key
from dagwright.planner.lateness import with_deadline_notified

from .fakeapi import FakeApi
from .test_reconciler import RUNS, Operator, add_run, reasons, status

# The fake API server creates every object at 2026-12-06T00:00:00Z: a 1h deadline from the
# logical date (the creation time) has long passed when the test runs.
LATE = [{"name": "a", "container": {"image": "busybox"}}]


def condition_types(api: FakeApi, name: str) -> list[str]:
    return [c["type"] for c in status(api, name).get("conditions") or []]


def test_a_run_past_its_deadline_gets_the_condition_one_event_and_one_count():
    api = FakeApi()
    add_run(api, "late", tasks=LATE)
    api.objects[f"{RUNS}/late"]["spec"]["workflowSpec"]["deadline"] = {"after": "1h"}
    op = Operator(api)
    before = metrics.DEADLINES_MISSED._value.get()
    asyncio.run(op.reconcile("late"))
    assert status(api, "late")["phase"] == "Running"
    assert "DeadlineMissed" in condition_types(api, "late")
    asyncio.run(op.reconcile("late"))
    assert reasons(api).count("DeadlineMissed") == 1
    assert metrics.DEADLINES_MISSED._value.get() - before == 1


def test_a_run_without_a_deadline_is_never_late():
    api = FakeApi()
    add_run(api, "calm", tasks=LATE)
    op = Operator(api)
    asyncio.run(op.reconcile("calm"))
    assert "DeadlineMissed" not in condition_types(api, "calm") and "DeadlineMissed" not in reasons(api)


def test_a_status_planned_before_the_notification_was_recorded_does_not_drop_the_record():
    api = FakeApi()
    add_run(api, "late", tasks=LATE)
    api.objects[f"{RUNS}/late"]["spec"]["workflowSpec"]["deadline"] = {"after": "1h"}
    op = Operator(api)

    async def scenario() -> None:
        await op.reconcile("late")
        body = op.store.run(run_key(api.objects[f"{RUNS}/late"]))
        assert body is not None
        key = run_key(body)
        older = op.store.status_of(body)  # what a pass in flight planned from
        await op.reconciler._record_notified(body, lambda s: with_deadline_notified(s, [], 1, "2026-12-06T01:00:00Z"))
        assert "DeadlineNotified" in condition_types(api, "late")
        op.reconciler.statuses.submit(key, (body["metadata"]["uid"], older.model_copy(update={"message": "newer"})))
        latest = op.store.run(key)
        assert latest is not None
        assert "DeadlineNotified" in [c.type for c in op.reconciler._newest_status(key, latest).conditions or []]
        await op.reconciler.statuses.flush(key)

    asyncio.run(scenario())
    assert status(api, "late").get("message") == "newer"  # the later write landed ...
    assert "DeadlineNotified" in condition_types(api, "late")  # ... and kept the record
