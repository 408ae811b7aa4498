"""Delivering run-finished notifications: a JSON POST to each webhook the planner says is due.

What is due and what it says are decided in `planner/notifications.py`. `deliver` posts with
retries and exponential backoff, in a thread, to an address `webhookguard` checked (never
link-local or cloud metadata unless the operator allows it); `Notifier` sends a finished run's
notifications once, in the background, and records the outcome.
Delivery is recorded on the run as the `Notified` condition, so it happens once per run even
across operator restarts (at least once: a crash mid-delivery sends again), and a failed
delivery never changes the run's phase — it posts a `NotificationFailed` Event instead.
`DeadlineMissed` notifications go out the same way the moment a run misses its deadline, while
it still runs, recorded as the `DeadlineNotified` condition.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import urllib3

from dagwright.api.frozen import thaw_spec
from dagwright.api.models import Notification, NotifyOn, WorkflowRunStatus
from dagwright.api.timefmt import format_time
from dagwright.api.vocabulary import EventReason
from dagwright.controller.events import EventSink
from dagwright.controller.webhookguard import Target, WebhookPolicy, WebhookRefused, connection_kwargs, resolve_target
from dagwright.kube import resources
from dagwright.kube.errors import ApiError
from dagwright.kube.http import KubeHttp
from dagwright.planner.conditions import is_notified, with_notified
from dagwright.planner.lateness import is_deadline_missed, is_deadline_notified, with_deadline_notified
from dagwright.planner.notifications import build_payload, due_notifications

log = logging.getLogger("dagwright.notify")


ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 1.0
TIMEOUT_SECONDS = 10.0
DENY_LINK_LOCAL = WebhookPolicy()


def deliver(url: str, payload: dict[str, Any], attempts: int = ATTEMPTS,
            first_backoff: float = FIRST_BACKOFF_SECONDS, policy: WebhookPolicy = DENY_LINK_LOCAL) -> str | None:
    """POST `payload` to `url`, retrying failures with backoff; None on success, else the error.

    A URL that `webhookguard` refuses is not tried at all (and not retried): the error says why.
    """
    body = json.dumps(payload).encode()
    error = "not attempted"
    for attempt in range(attempts):
        try:
            target = resolve_target(url, policy)
        except WebhookRefused as refused:
            return str(refused)
        except OSError as exc:  # the name does not resolve (yet): like a refused connection
            error = f"cannot resolve the webhook host: {exc}"
        else:
            try:
                status = _post(target, body)
                if 200 <= status < 300:
                    return None
                error = f"HTTP {status}"
                if 400 <= status < 500 and status not in (408, 429):
                    break
            except urllib3.exceptions.HTTPError as exc:
                error = str(exc)
        if attempt + 1 < attempts:
            time.sleep(first_backoff * 2**attempt)
    return f"{error} after {attempt + 1} attempt(s)"


def _post(target: Target, body: bytes) -> int:
    """One POST to the first checked address of `target`; redirects are not followed (they would skip the check)."""
    pool_class = urllib3.HTTPSConnectionPool if target.scheme == "https" else urllib3.HTTPConnectionPool
    headers = {"Content-Type": "application/json", "Host": _host_header(target)}
    with pool_class(target.addresses[0], target.port, timeout=urllib3.Timeout(total=TIMEOUT_SECONDS), retries=False,
                    maxsize=1, **connection_kwargs(target)) as pool:
        response = pool.urlopen("POST", target.path, body=body, headers=headers, redirect=False,
                                assert_same_host=False)
        return int(response.status)


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


class Notifier:
    """Sends each finished run's due notifications once, in the background.

    `record(body, update)` stores the outcome: it is handed a function from the run's newest
    status to the status with the `Notified` condition, and writes that.
    """

    def __init__(self, http: KubeHttp, events: EventSink, clock: Callable[[], datetime],
                 workflow_of: Callable[[dict[str, Any]], str],
                 record: Callable[[dict[str, Any], Callable[[WorkflowRunStatus], WorkflowRunStatus]], Awaitable[None]],
                 ) -> None:
        self.http = http
        self.events = events
        self.clock = clock
        self.workflow_of = workflow_of
        self.record = record
        self.policy = DENY_LINK_LOCAL  # the operator's --allow-link-local-webhooks
        self._sending: set[str] = set()

    def notify_if_due(self, body: dict[str, Any], status: WorkflowRunStatus) -> None:
        """Start delivering the run's notifications unless done (the Notified condition) or under way."""
        if not status.frozen_spec or is_notified(status):
            return
        due = due_notifications(thaw_spec(status.frozen_spec).notifications, status.phase)
        uid = body["metadata"]["uid"]
        if not due or uid in self._sending:
            return
        self._sending.add(uid)
        task = asyncio.create_task(self._send(body, status, due, None))
        task.add_done_callback(lambda _: self._sending.discard(uid))

    def notify_deadline_if_due(self, body: dict[str, Any], status: WorkflowRunStatus) -> None:
        """Send the `on: [DeadlineMissed]` notifications of a late run, unless done or under way."""
        if not status.frozen_spec or not is_deadline_missed(status) or is_deadline_notified(status):
            return
        due = due_notifications(thaw_spec(status.frozen_spec).notifications, NotifyOn.DEADLINE_MISSED.value)
        sending = body["metadata"]["uid"] + "/" + NotifyOn.DEADLINE_MISSED.value
        if not due or sending in self._sending:
            return
        self._sending.add(sending)
        task = asyncio.create_task(self._send(body, status, due, NotifyOn.DEADLINE_MISSED))
        task.add_done_callback(lambda _: self._sending.discard(sending))

    async def _send(self, body: dict[str, Any], status: WorkflowRunStatus, due: list[Notification],
                    event: NotifyOn | None) -> None:
        payload = build_payload(body, self.workflow_of(body), status, event)
        errors = []
        for i, notification in enumerate(due):
            try:
                url = await asyncio.to_thread(self._webhook_url, body["metadata"]["namespace"], notification)
                error = await asyncio.to_thread(deliver, url, payload, policy=self.policy)
            except (ApiError, ValueError) as exc:
                error = f"cannot read the webhook URL: {exc}"
            if error:
                errors.append(f"notification {i}: {error}")
        message = "; ".join(errors) if errors else f"{len(due)} notification(s) delivered"
        reason = EventReason.NOTIFICATION_FAILED if errors else EventReason.NOTIFICATION_SENT
        self.events.post(body, reason.value, message,
                         "Warning" if errors else "Normal")
        stamp = format_time(self.clock())
        if event == NotifyOn.DEADLINE_MISSED:
            await self.record(body, lambda current: with_deadline_notified(current, errors, len(due), stamp))
        else:
            await self.record(body, lambda current: with_notified(current, errors, len(due), stamp))

    def _webhook_url(self, namespace: str, notification: Notification) -> str:
        webhook = notification.webhook
        if webhook.url:
            return webhook.url
        if webhook.url_from is None:
            raise ValueError("webhook has neither url nor urlFrom")
        ref = webhook.url_from.secret_key_ref
        url = resources.get_secret_value(self.http, namespace, ref.name, ref.key).strip()
        if not url:
            raise ValueError(f"Secret {ref.name} has no key {ref.key}")
        return url
