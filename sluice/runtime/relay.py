"""The stream relay: a table's changes become events on the bus, as the app says.

An app declares one with ``stream_relay(catalog=..., table=..., to_event=...)``, where
``to_event(change)`` names the event a change becomes, ``(type, data)``, or None to ignore
it. The envelope id is the stream record's deterministic id, so re-reading a shard
republishes the same ids and downstream idempotency absorbs them.

Failure contract (what the worker answers Lambda): a record whose item breaks its
contract or makes ``to_event`` raise, and a record whose publish still fails after the
publisher's retries, are reported failed by id. Records between them are published, and
the shard checkpoints at the first failure; re-reading publishes those again under the
same ids, which the subscribers absorb.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from sluice.core import Catalog, ContractError, Envelope
from sluice.publisher import Publisher, PublisherError, Sent
from sluice.runtime.context import Deps
from sluice.runtime.records import StreamChange
from sluice.runtime.spec import Source
from sluice.runtime.telemetry import NAMESPACE
from sluice.runtime.worker import Worker, worker

__all__ = ["ToEvent", "stream_relay"]

ToEvent = Callable[[StreamChange], tuple[str, dict[str, Any]] | None]
"""What a change becomes: ``(event type, data)``, or None to ignore it."""


def stream_relay(
    *,
    catalog: Catalog,
    table: str,
    to_event: ToEvent,
    name: str = "relay",
    source: str | None = None,
    **settings: Any,
) -> Worker:
    """Declare a relay worker for ``table``'s stream that publishes to the events topic.

    ``source`` is the envelopes' ``source`` (default ``<name>.<table>``). Other settings
    (batch size, timeout, retries, record age) are ``WorkerSpec``'s; the defaults read up
    to 100 records a batch and skip idempotency (the ids are deterministic).
    """
    relay = Relay(catalog, to_event, source or f"{name}.{table}")

    def run(records: list[Envelope[StreamChange]], deps: Deps) -> list[str]:
        return relay(records, deps)

    # The worker belongs to the module that declares it (that module exposes ``handler``),
    # and is named after the function, as every worker is.
    run.__module__ = to_event.__module__
    run.__qualname__ = run.__name__ = name
    options: dict[str, Any] = {"batch_size": 100, "timeout_s": 60, "idempotent": False}
    options.update(settings)
    return worker(
        catalog=catalog,
        source=Source.STREAM,
        table=table,
        batch=True,
        publishes=True,
        **options,
    )(run)


@dataclass
class MappedBatch:
    """A stream batch sorted into events to publish, broken records and ignored changes."""

    events: list[Envelope[Any]] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Relay:
    """Map a batch of stream envelopes to events and publish them, 10 per call."""

    catalog: Catalog
    to_event: ToEvent
    source: str

    def __call__(self, records: list[Envelope[StreamChange]], deps: Deps) -> list[str]:
        """Publish and return the ids of the records not published."""
        log = deps.telemetry.logger
        batch = self.map_batch(records, log)
        publisher = Publisher.to_topic(deps.clients.sns, deps.settings.topic(), logger=log)
        try:
            result = publisher.publish(batch.events)
        except PublisherError as exc:  # too large, or unsendable: never publish half a batch
            log.error(
                "event cannot be published",
                extra={"event_id": exc.envelope_id, "detail": str(exc)},
            )
            return [*batch.broken, *(e.id for e in batch.events)]
        _log_published(log, batch.events, result.sent)
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

    def event_for(self, record: Envelope[StreamChange]) -> Envelope[Any] | None:
        """The event for one stream envelope, checked against the catalog (None: ignored)."""
        mapped = self.to_event(record.data)
        if mapped is None:
            return None
        event_type, data = mapped
        event: Envelope[Any] = Envelope(
            id=record.id,
            type=event_type,
            version=self.catalog.latest(event_type),
            source=self.source,
            time=record.time,
            correlation_id=record.correlation_id,
            causation_id=None,
            data=data,
        )
        return self.catalog.validate(event)

    def map_batch(self, records: list[Envelope[StreamChange]], log: Any) -> MappedBatch:
        """Each record's event; a stored item that breaks its contract fails its record."""
        batch = MappedBatch()
        for record in records:
            try:
                event = self.event_for(record)
            except ContractError as exc:
                log.error(
                    "stored item breaks its contract",
                    extra={"event_id": record.id, "reason": exc.reason, "detail": exc.detail},
                )
                batch.broken.append(record.id)
                continue
            except Exception as exc:  # to_event is app code: any crash fails this record alone
                log.exception(
                    "stored item cannot be mapped to an event",
                    extra={
                        "event_id": record.id,
                        "reason": "unmappable",
                        "detail": f"{type(exc).__name__}: {exc}",
                    },
                )
                batch.broken.append(record.id)
                continue
            if event is None:
                batch.ignored[record.data.event_name] += 1
            else:
                batch.events.append(event)
        return batch


def _log_published(log: Any, events: list[Envelope[Any]], sent: list[Sent]) -> None:
    """One line per published event, under its correlation id: ``sluice trace``'s relay hop."""
    by_id = {e.id: e for e in events}
    for done in sent:
        event = by_id[done.envelope_id]
        log.info(
            "event published",
            extra={
                "correlation_id": event.correlation_id,
                "event_id": event.id,
                "event_type": event.type,
                "message_id": done.message_id,
            },
        )


def _count_ignored(deps: Deps, count: int) -> None:
    """The IgnoredChanges metric (EMF), next to the engine's own per-batch figures."""
    if not deps.telemetry.metrics_enabled:
        return
    metrics = EphemeralMetrics(namespace=NAMESPACE)
    metrics.add_dimension(name="worker", value=deps.telemetry.worker)
    metrics.add_metric(name="IgnoredChanges", unit=MetricUnit.Count, value=count)
    metrics.flush_metrics()
