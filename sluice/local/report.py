"""After the demo drains: read the end state back and check it against what was sent."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from sluice.local.sandbox import Sandbox
from sluice.local.scenario import Scenario
from sluice.runtime.queues import DETAIL, REASON, WORKER


@dataclass(frozen=True)
class Check:
    """One consistency check: what the sends imply, what the tables hold."""

    name: str
    expected: Any
    actual: Any

    @property
    def ok(self) -> bool:
        """True if they agree."""
        return bool(self.expected == self.actual)


def state_items(box: Sandbox) -> list[dict[str, Any]]:
    """Every item of the state table, as plain values."""
    assert box.clients is not None
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": box.topology.table("state")}
    while True:
        page = box.clients.dynamodb.scan(**kwargs)
        for item in page["Items"]:
            items.append({k: int(v["N"]) if "N" in v else v.get("S") for k, v in item.items()})
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def checks(box: Sandbox, scenario: Scenario) -> list[Check]:
    """Inventory, receipts, audit and ledger against the scenario."""
    items = state_items(box)
    fields = ("reserved", "reservations", "releases")
    stock = {
        i["pk"][4:]: {f: i.get(f, 0) for f in fields} for i in items if i["pk"].startswith("SKU#")
    }
    balances = {
        i["pk"][8:]: i["balance_cents"]
        for i in items
        if i["pk"].startswith("ACCOUNT#") and i["sk"] == "BALANCE"
    }
    receipts = sum(1 for i in items if i["pk"].startswith("RECEIPT#"))
    audited = sum(1 for i in items if i["pk"].startswith("AUDIT#"))
    return [
        Check("inventory = placed - cancelled", scenario.stock(), stock),
        Check("receipts = orders placed", len(scenario.placed), receipts),
        Check("audit entries = events on the bus", scenario.events_on_bus, audited),
        Check("ledger balances = sum of payments", scenario.balances(), balances),
    ]


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


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def summary(
    box: Sandbox, latencies: list[float], results: list[Check], letters: list[tuple[str, str, str]]
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
    timing = Table(title="End to end (POST -> all done)", title_justify="left")
    for column in ("orders", "p50", "p95", "max"):
        timing.add_column(column, justify="right")
    if latencies:
        timing.add_row(
            str(len(latencies)),
            *(
                f"{v * 1000:.0f} ms"
                for v in (statistics.median(latencies), percentile(latencies, 0.95), max(latencies))
            ),
        )
    consistency = Table(title="Consistency", title_justify="left")
    for column in ("check", "result"):
        consistency.add_column(column)
    for check in results:
        verdict = (
            "[green]holds[/]" if check.ok else f"[red]FAILS[/] {check.expected} != {check.actual}"
        )
        consistency.add_row(check.name, verdict)
    return [workers, dlq, timing, consistency]
