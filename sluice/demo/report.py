"""After the demo drains: read the end state back and print it as tables."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from sluice.demo.base import Check, Demo
from sluice.local.sandbox import Sandbox
from sluice.runtime.queues import DETAIL, REASON, WORKER


def table_items(box: Sandbox, table: str) -> list[dict[str, Any]]:
    """Every item of one of the app's tables (by logical name), as plain values.

    Numbers become ints (or floats), strings stay strings; other types are kept as the
    typed DynamoDB value.
    """
    assert box.clients is not None
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": box.topology.table(table)}
    while True:
        page = box.clients.dynamodb.scan(**kwargs)
        items += [{k: _plain(v) for k, v in item.items()} for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _plain(value: dict[str, Any]) -> Any:
    if "N" in value:
        number = float(value["N"])
        return int(number) if number.is_integer() else number
    return value.get("S", value)


def dead_letters(box: Sandbox) -> list[tuple[str, str, str]]:
    """(DLQ, worker, reason: detail) of every dead-lettered message, left where it is."""
    assert box.clients is not None
    found = []
    for dlq in box.topology.dlqs():
        url = box.queue_url(dlq.name)
        seen: set[str] = set()
        while True:
            got = box.clients.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in got if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                attrs = message.get("MessageAttributes", {})
                reason = attrs.get(REASON, {}).get("StringValue", "maxReceiveCount exceeded")
                detail = attrs.get(DETAIL, {}).get("StringValue", "")
                reason = f"{reason}: {detail[:70]}" if detail else reason
                worker = attrs.get(WORKER, {}).get("StringValue", dlq.worker)
                found.append((dlq.name, worker, reason))
    return found


def latencies(box: Sandbox, demo: Demo) -> list[float]:
    """Seconds from sent to all done, for each of the demo's timed requests that finished."""
    out: list[float] = []
    for request in demo.timed(box):
        done = box.tally.done_at(request.correlation_id, list(request.workers))
        if done is not None:
            out.append(done - request.sent_at)
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


WHOLE = ("worker", "queue", "check")
"""The columns of the summary whose cells are names: printed whole at any width."""


def summary(
    box: Sandbox,
    demo: Demo,
    timings: list[float],
    results: Sequence[Check],
    letters: list[tuple[str, str, str]],
) -> list[Table]:
    """The tables the demo prints at the end."""
    workers = Table(title="Events per worker", title_justify="left")
    for column in ("worker", "processed", "duplicates absorbed", "dead-lettered", "retried"):
        workers.add_column(column, justify="left" if column == "worker" else "right")
    for name in sorted(box.workers):
        counts = box.tally.counts.get(name, Counter[str]())
        figures = (counts.get(k, 0) for k in ("processed", "duplicates", "permanent", "failed"))
        workers.add_row(name, *(str(v) for v in figures))
    dlq = Table(title="Dead-letter queues", title_justify="left")
    for column in ("queue", "worker", "reason"):
        dlq.add_column(column)
    for row in letters:
        dlq.add_row(*row)
    tables = [workers, dlq]
    if timings:
        timing = Table(title=f"End to end ({demo.timed_from} -> all done)", title_justify="left")
        for column in (f"{demo.unit}s", "p50", "p95", "max"):
            timing.add_column(column, justify="right")
        figures_s = (statistics.median(timings), percentile(timings, 0.95), max(timings))
        timing.add_row(str(len(timings)), *(f"{v * 1000:.0f} ms" for v in figures_s))
        tables.append(timing)
    if results:
        consistency = Table(title="Consistency", title_justify="left")
        for column in ("check", "result"):
            consistency.add_column(column)
        for check in results:
            verdict = (
                "[green]holds[/]"
                if check.ok
                else f"[red]FAILS[/] {check.expected} != {check.actual}"
            )
            consistency.add_row(check.name, verdict)
        tables.append(consistency)
    return tables
