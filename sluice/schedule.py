"""Scheduled events: the declaration, the event each slot fires, and the request that sends it.

A ``Schedule`` names an EventBridge Scheduler expression (``rate(...)``/``cron(...)``) in a
time zone, the event it fires and where that goes: the events topic (``target=None``) or
one worker's queue (``target="<worker>"``).

**One request, two senders.** ``Schedule.request`` builds the SNS ``Publish`` or SQS
``SendMessage`` parameters of one slot. On AWS the CDK puts them, with the slot left as
``<aws.scheduler.scheduled-time>``, into the Input of an EventBridge Scheduler *universal
target* (``aws-sdk:sns:publish`` / ``aws-sdk:sqs:sendMessage``), and the Scheduler fills in
the slot when it fires (for example ``2026-12-01T02:00:00Z``). The sandbox's scheduler
sends the same parameters with the slot filled in by itself.

**The slot in the payload.** A payload string may hold ``SCHEDULED_TIME``
(``<aws.scheduler.scheduled-time>``), whole or inside a longer string: the Scheduler
replaces it with the slot as it replaces it in the envelope's id and time, and the sandbox's
scheduler does the same text replacement, so ``{"day": SCHEDULED_TIME}`` arrives as
``{"day": "2026-12-01T05:00:00Z"}`` on AWS and locally alike. The contract is checked with
a slot in its place.

**A deterministic envelope.** The body is a whole envelope whose id and correlation id are
``schedule:<name>:<slot>``: no code runs between the Scheduler and the topic, and a second
fire of the same slot (a Scheduler retry, a sandbox restart) carries the same id, so the
workers' idempotency absorbs it. ``message_attributes`` travel too, so SNS filter policies
route a scheduled event like any other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sluice.core import Catalog, Envelope
from sluice.core.cron import Expression, ExpressionError, parse, zone
from sluice.core.errors import ContractError
from sluice.runtime import Clients, ConfigurationError, Registry

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
"""The EventBridge Scheduler context attribute the Scheduler replaces with the slot time."""
ERROR_CODE = "ERROR_CODE"
ERROR_MESSAGE = "ERROR_MESSAGE"
"""The attributes EventBridge Scheduler sets on a dead-letter event: why it failed."""
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class Action(StrEnum):
    """The API a schedule's universal target calls."""

    PUBLISH = "sns:publish"
    SEND_MESSAGE = "sqs:sendMessage"


def slot_text(moment: datetime) -> str:
    """A slot as EventBridge Scheduler writes it: UTC, to the second, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Schedule:
    """An event fired on a schedule, declared in ``App(schedules=...)``.

    ``expression`` is EventBridge Scheduler syntax, read in ``timezone`` (IANA). ``payload``
    is the event's ``data`` and must satisfy the catalog's contract for ``event_type``; a
    string in it may hold ``SCHEDULED_TIME``, which each fire replaces with its slot
    (``2026-12-01T05:00:00Z``, UTC). The slot is also the envelope's ``time``.
    ``target`` is None for the events topic (every subscriber whose filter matches gets
    it), or a queue worker's name to send to that worker's queue alone.
    """

    name: str
    """1-40 lowercase letters, digits, ``-`` or ``_``: part of the envelope id and the DLQ."""
    expression: str
    """``cron(...)`` or ``rate(...)``, as EventBridge Scheduler reads them."""
    event_type: str
    """The type of the event each fire sends (the catalog must know it)."""
    payload: Mapping[str, Any] = field(default_factory=dict)
    """The event's ``data``; ``SCHEDULED_TIME`` in a string becomes the slot."""
    timezone: str = "UTC"
    """The IANA time zone the expression is read in (daylight saving as the Scheduler)."""
    target: str | None = None
    """None for the events topic, or a queue worker's name for its queue alone."""
    version: int = 1
    """The contract version of the event sent."""
    description: str = ""
    """The schedule's description on AWS."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigurationError(
                f"schedule name {self.name!r}: use 1-40 lowercase letters, digits, '-' or '_', "
                "starting with a letter (it becomes part of the envelope id and queue names)"
            )
        try:
            parsed = parse(self.expression)
            tz = zone(self.timezone)
        except ExpressionError as exc:
            raise ConfigurationError(f"schedule {self.name!r}: {exc}") from None
        if parsed.next_fire(datetime.now(UTC), tz) is None:
            raise ConfigurationError(
                f"schedule {self.name!r}: {self.expression} never fires again (check the "
                "year and day fields)"
            )
        try:
            json.dumps(dict(self.payload))
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"schedule {self.name!r}: the payload must be JSON ({exc})"
            ) from None

    @property
    def parsed(self) -> Expression:
        """The parsed expression."""
        return parse(self.expression)

    def next_fire(self, after: datetime) -> datetime | None:
        """The first slot strictly after ``after``, in the schedule's time zone."""
        return self.parsed.next_fire(after, zone(self.timezone))

    def event_id(self, slot: str) -> str:
        """The envelope id (and correlation id) of one slot: the same for every fire of it."""
        return f"schedule:{self.name}:{slot}"

    def data(self, slot: str) -> dict[str, Any]:
        """The payload of one slot: ``SCHEDULED_TIME`` in any string replaced by ``slot``
        (the text replacement the Scheduler does, or nothing when ``slot`` is the keyword)."""
        return dict(_filled(dict(self.payload), slot))

    def envelope(self, slot: str) -> dict[str, Any]:
        """The wire envelope of one slot (``slot`` may be the ``SCHEDULED_TIME`` keyword)."""
        event_id = self.event_id(slot)
        return {
            "id": event_id,
            "type": self.event_type,
            "version": self.version,
            "source": f"schedule:{self.name}",
            "time": slot,
            "correlation_id": event_id,
            "causation_id": None,
            "data": self.data(slot),
        }

    def message_attributes(self, slot: str) -> dict[str, dict[str, str]]:
        """The SNS/SQS message attributes every Sluice message carries."""
        return {
            "event_type": {"DataType": "String", "StringValue": self.event_type},
            "event_version": {"DataType": "Number", "StringValue": str(self.version)},
            "correlation_id": {"DataType": "String", "StringValue": self.event_id(slot)},
        }

    def request(
        self, action: Action, address: str, slot: str, group_id: str | None = None
    ) -> dict[str, Any]:
        """The Publish (topic ARN) or SendMessage (queue URL) parameters of one slot.

        ``group_id`` is for a FIFO queue; its deduplication id is the envelope id, so SQS
        itself drops a second fire of the slot within its five-minute window.
        """
        body = json.dumps(self.envelope(slot), separators=(",", ":"), ensure_ascii=False)
        attributes = self.message_attributes(slot)
        if action is Action.PUBLISH:
            return {"TopicArn": address, "Message": body, "MessageAttributes": attributes}
        request: dict[str, Any] = {
            "QueueUrl": address,
            "MessageBody": body,
            "MessageAttributes": attributes,
        }
        if group_id is not None:
            request["MessageGroupId"] = group_id.replace(SCHEDULED_TIME, slot)
            request["MessageDeduplicationId"] = self.event_id(slot)
        return request


def _filled(value: Any, slot: str) -> Any:
    """``value`` with ``SCHEDULED_TIME`` replaced by ``slot`` in every string it holds."""
    if isinstance(value, str):
        return value.replace(SCHEDULED_TIME, slot)
    if isinstance(value, Mapping):
        return {key: _filled(item, slot) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_filled(item, slot) for item in value]
    return value


def deliver(clients: Clients, action: Action, request: dict[str, Any]) -> str:
    """Send one slot's request the way the Scheduler's universal target does; the message id."""
    if action is Action.PUBLISH:
        return str(clients.sns.publish(**request)["MessageId"])
    return str(clients.sqs.send_message(**request)["MessageId"])


def check_schedules(schedules: tuple[Schedule, ...], catalog: Catalog) -> None:
    """Unique names, known event types, and payloads that satisfy their contracts."""
    seen: set[str] = set()
    for schedule in schedules:
        if schedule.name in seen:
            raise ConfigurationError(f"schedule {schedule.name!r} is declared twice")
        seen.add(schedule.name)
        if schedule.event_type not in catalog.types:
            raise ConfigurationError(
                f"schedule {schedule.name!r} fires {schedule.event_type!r}, which the catalog "
                f"does not know; known types: {', '.join(sorted(catalog.types))}"
            )
        sample = Envelope.new(
            schedule.event_type,
            schedule.data(slot_text(datetime.now(UTC))),
            source="schedule",
            version=schedule.version,
        )
        try:
            catalog.validate(sample)
        except ContractError as exc:
            raise ConfigurationError(
                f"schedule {schedule.name!r}: the payload is not a valid "
                f"{schedule.event_type} v{schedule.version}: {exc}"
            ) from None


def check_targets(schedules: tuple[Schedule, ...], registry: Registry) -> None:
    """Every target is a queue worker that accepts the event; the topic has a subscriber."""
    for schedule in schedules:
        where = f"schedule {schedule.name!r}"
        if schedule.name in registry:  # DLQs and alarms are listed by worker or schedule name
            raise ConfigurationError(f"{where} has a worker's name; give the schedule its own")
        if schedule.target is None:
            if not registry.subscribers(schedule.event_type):
                raise ConfigurationError(
                    f"{where} publishes {schedule.event_type!r} to the topic, and no worker "
                    "subscribes to it; add a worker, or set target='<worker>'"
                )
            continue
        if schedule.target not in registry:
            known = ", ".join(spec.name for spec in registry.specs)
            raise ConfigurationError(
                f"{where} targets worker {schedule.target!r}, which does not exist; "
                f"workers: {known} (or target=None for the events topic)"
            )
        spec = registry.get(schedule.target).spec
        if not spec.source.is_queue:
            raise ConfigurationError(
                f"{where} targets {spec.name!r}, which reads a stream and has no queue"
            )
        if not spec.accepts(schedule.event_type):
            raise ConfigurationError(
                f"{where} sends {schedule.event_type!r} to {spec.name!r}, which does not "
                "subscribe to it (it would dead-letter every fire)"
            )
        if spec.source.is_fifo and not schedule.payload.get(spec.group_by or ""):
            raise ConfigurationError(
                f"{where} sends to FIFO worker {spec.name!r}, which groups by "
                f"{spec.group_by!r}: the payload needs that field"
            )
