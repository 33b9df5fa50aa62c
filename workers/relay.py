"""relay: turn the orders table's stream into events on the bus (INSERT, MODIFY to CANCELLED).

The envelope id is the stream record's deterministic id, so re-reading a shard republishes
the same ids and downstream idempotency absorbs them. Records whose publish still fails
after the publisher's retries are reported failed, so the shard checkpoints before them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from events import CATALOG, ORDER_CANCELLED, ORDER_PLACED, ContractError, Envelope
from producers.orders import CANCELLED, cancelled_data, placed_data
from producers.publisher import OversizeError, Publisher
from sluice.runtime import Deps, Source, StreamChange, worker
from sluice.runtime.telemetry import NAMESPACE

SOURCE = "sluice.relay"
_Mapping = tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]


def event_for(change: StreamChange) -> _Mapping | None:
    """Which event a change becomes (type and payload builder), or None to ignore it."""
    if change.event_name == "INSERT" and change.new_image:
        return ORDER_PLACED, placed_data
    new, old = change.new_image or {}, change.old_image or {}
    if change.event_name == "MODIFY" and new.get("status") == CANCELLED != old.get("status"):
        return ORDER_CANCELLED, cancelled_data
    return None


def to_event(record: Envelope[StreamChange]) -> Envelope[Any] | None:
    """The domain event for one stream envelope, checked against the catalog."""
    mapping = event_for(record.data)
    if mapping is None:
        return None
    event_type, payload = mapping
    event: Envelope[Any] = Envelope(
        id=record.id,
        type=event_type,
        version=CATALOG.latest(event_type),
        source=SOURCE,
        time=record.time,
        correlation_id=record.correlation_id,
        causation_id=None,
        data=payload(record.data.new_image or {}),
    )
    return CATALOG.validate(event)


@worker(
    source=Source.STREAM,
    table="orders",
    batch=True,
    publishes=True,
    batch_size=100,
    timeout_s=60,
    idempotent=False,
    description="Publishes order.placed / order.cancelled for each change to the orders table.",
)
def relay(records: list[Envelope[StreamChange]], deps: Deps) -> list[str]:
    """Map, publish in batches of 10, and return the ids of the records not published."""
    log = deps.telemetry.logger
    batch = map_batch(records, log)
    publisher = Publisher.to_topic(deps.clients.sns, deps.settings.topic(), logger=log)
    try:
        result = publisher.publish(batch.events)
    except OversizeError as exc:  # cannot happen for valid orders; never publish half a batch
        log.error("event too large to publish", extra={"event_id": exc.envelope_id})
        return [*batch.broken, *(e.id for e in batch.events)]
    for failure in result.failed:
        log.error(
            "event not published",
            extra={"event_id": failure.envelope_id, "code": failure.code},
        )
    log.info(
        "relayed stream batch",
        extra={
            "records": len(records),
            "published": len(result.sent),
            "failed": len(result.failed) + len(batch.broken),
            "ignored": sum(batch.ignored.values()),
            "ignored_by_change": dict(batch.ignored),
            "calls": result.calls,
        },
    )
    _count_ignored(deps, sum(batch.ignored.values()))
    return [*batch.broken, *result.failed_ids]


@dataclass
class MappedBatch:
    """A stream batch sorted into events to publish, broken records and ignored changes."""

    events: list[Envelope[Any]] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)


def map_batch(records: list[Envelope[StreamChange]], log: Any) -> MappedBatch:
    """Each record's event; a stored item that breaks its contract fails its record."""
    batch = MappedBatch()
    for record in records:
        try:
            event = to_event(record)
        except ContractError as exc:
            log.error(
                "stored order breaks its contract",
                extra={"event_id": record.id, "reason": exc.reason, "detail": exc.detail},
            )
            batch.broken.append(record.id)
            continue
        if event is None:
            batch.ignored[record.data.event_name] += 1
        else:
            batch.events.append(event)
    return batch


def _count_ignored(deps: Deps, count: int) -> None:
    """The IgnoredChanges metric (EMF), next to the engine's own per-batch figures."""
    if not deps.telemetry.metrics_enabled:
        return
    metrics = EphemeralMetrics(namespace=NAMESPACE)
    metrics.add_dimension(name="worker", value=deps.telemetry.worker)
    metrics.add_metric(name="IgnoredChanges", unit=MetricUnit.Count, value=count)
    metrics.flush_metrics()


handler = relay.handler
