"""What the chaos suite reads back from the sandbox, on clients the faults never touch."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from demo.traffic import Order
from sluice.local.tally import queue_names
from sluice.ops.messages import DlqMessage
from sluice.ops.scan import Scanner
from sluice.runtime import Clients
from sluice.target import Target
from sluice.topology import DlqKind, Topology

_plain = TypeDeserializer().deserialize
_DEPTHS = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


@dataclass
class State:
    """Effects as the workers left them: stock per SKU, receipts, audit entries."""

    stock: dict[str, dict[str, int]]
    receipts: dict[str, str]
    """order id -> the event id that wrote the receipt."""
    audit: Counter[tuple[str, str]]
    """(event type, correlation id) -> writes of its entries (a double effect counts 2)."""
    issued: Counter[str] = field(default_factory=Counter)
    """order id -> times its receipt was written (a double effect counts 2)."""


def expected(orders: list[Order], applied: Any) -> State:
    """The state if exactly the events ``applied(type, order)`` says took effect, once each."""
    stock: dict[str, Counter[str]] = {}
    audit: Counter[tuple[str, str]] = Counter()
    receipts: dict[str, str] = {}
    issued: Counter[str] = Counter()
    for order in orders:
        events = [("order.placed", 1, "reservations")]
        if order.cancelled:
            events.append(("order.cancelled", -1, "releases"))
        for event_type, sign, counter in events:
            if not applied(event_type, order):
                continue
            audit[(event_type, order.correlation_id)] += 1
            if event_type == "order.placed":
                receipts[order.order_id] = "?"
                issued[order.order_id] += 1
            for line in order.items:
                counts = stock.setdefault(line["sku"], Counter())
                counts["reserved"] += sign * line["quantity"]
                counts[counter] += 1
    return State({k: dict(v) for k, v in stock.items()}, receipts, audit, issued)


class World:
    """The sandbox's tables and queues, read through a session with no faults registered."""

    def __init__(self, endpoint_url: str, region: str, topology: Topology) -> None:
        session = boto3.session.Session(
            aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name=region
        )
        self.clients = Clients(session, endpoint_url=endpoint_url)
        self.topology = topology
        self.target = Target(self.clients, topology, local=True)

    def scan(self, logical: str) -> list[dict[str, Any]]:
        """Every item of a table, as plain Python."""
        pages = self.clients.dynamodb.get_paginator("scan").paginate(
            TableName=self.topology.table(logical), ConsistentRead=True
        )
        return [{k: _plain(v) for k, v in item.items()} for page in pages for item in page["Items"]]

    def state(self) -> State:
        """Stock, receipts and audit entries, from one scan of the state table."""
        stock: dict[str, dict[str, int]] = {}
        receipts: dict[str, str] = {}
        audit: Counter[tuple[str, str]] = Counter()
        issued: Counter[str] = Counter()
        for item in self.scan("state"):
            kind, _, name = str(item["pk"]).partition("#")
            if kind == "SKU":
                stock[name] = {
                    k: int(item.get(k, 0)) for k in ("reserved", "reservations", "releases")
                }
            elif kind == "RECEIPT":
                receipts[name] = str(item["event_id"])
                issued[name] += int(item.get("issued", 0))
            elif kind == "AUDIT":
                audit[(name, str(item["correlation_id"]))] += int(item.get("writes", 0))
        return State(stock, receipts, audit, issued)

    def get(self, logical: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of a table at ``keys`` (those that exist), consistently read."""
        table = self.topology.table(logical)
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {
                table: {"Keys": keys[start : start + 100], "ConsistentRead": True}
            }
            while request:
                answer = self.clients.dynamodb.batch_get_item(RequestItems=request)
                found += answer["Responses"].get(table, [])
                request = answer.get("UnprocessedKeys") or {}
        return [{k: _plain(v) for k, v in item.items()} for item in found]

    def receipts(self, order_ids: list[str]) -> dict[str, str]:
        """order id -> the event id of its receipt, for the orders that have one."""
        keys = [{"pk": {"S": f"RECEIPT#{o}"}, "sk": {"S": "RECEIPT"}} for o in order_ids]
        return {str(i["pk"]).split("#", 1)[1]: str(i["event_id"]) for i in self.get("state", keys)}

    def completed(self, worker: str, event_ids: list[str]) -> set[str]:
        """Which of ``event_ids`` ``worker`` has marked complete in the idempotency table."""
        keys = [{"id": {"S": f"{worker}#{e}"}} for e in event_ids]
        return {
            str(i["id"]).split("#", 1)[1]
            for i in self.get("idempotency", keys)
            if i.get("status") == "COMPLETED"
        }

    def depth(self, name: str) -> int:
        """Messages on a queue: visible, in flight and delayed."""
        attrs = self.clients.sqs.get_queue_attributes(
            QueueUrl=self.target.queue_url(name), AttributeNames=_DEPTHS
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    def worker_queues(self) -> list[str]:
        """The queue of every SQS-fed worker."""
        return [queue for queue, _ in queue_names(self.topology).values()]

    def dlq_names(self, *kinds: DlqKind) -> list[str]:
        """Every DLQ of the given kinds (all kinds if none given)."""
        return [d.name for d in self.topology.dlqs() if not kinds or d.kind in kinds]

    def busy(self, names: list[str]) -> dict[str, int]:
        """The queues among ``names`` that still hold messages, with their depth."""
        depths = {name: self.depth(name) for name in names}
        return {name: depth for name, depth in depths.items() if depth}

    def peek(self, name: str) -> list[DlqMessage]:
        """Every message of a queue, looked at and left in place."""
        with Scanner(self.clients.sqs, self.target.queue_url(name), hold_s=60) as scan:
            return [message for batch in scan.batches() for message in batch]
