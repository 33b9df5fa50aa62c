"""What the demo sends, and what the pipeline must have done once it drains."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from demo.traffic import Order
from events import ORDER_PLACED, PAYMENT_CAPTURED
from sluice.core import Envelope
from sluice.publisher import Publisher, PublishResult

POISON_REASON = "a negative quantity breaks the order.placed contract"


@dataclass
class Scenario:
    """Everything sent, so the expected end state can be derived from it."""

    orders: list[Order] = field(default_factory=list)
    payments: list[Envelope[Any]] = field(default_factory=list)
    duplicate: Envelope[Any] | None = None
    poison: Envelope[Any] | None = None

    @property
    def placed(self) -> list[list[dict[str, Any]]]:
        """The lines of every order.placed that reaches the workers (each once)."""
        lines = [o.items for o in self.orders]
        return lines + ([self.duplicate.data["items"]] if self.duplicate else [])

    @property
    def cancelled(self) -> list[list[dict[str, Any]]]:
        """The lines of every cancelled order."""
        return [o.items for o in self.orders if o.cancelled]

    def stock(self) -> dict[str, dict[str, int]]:
        """Per SKU: units reserved, reservations and releases the inventory must show."""
        reserved: Counter[str] = Counter()
        reservations: Counter[str] = Counter()
        releases: Counter[str] = Counter()
        for lines in self.placed:
            for sku in {line["sku"] for line in lines}:
                reservations[sku] += 1
            for line in lines:
                reserved[line["sku"]] += line["quantity"]
        for lines in self.cancelled:
            for sku in {line["sku"] for line in lines}:
                releases[sku] += 1
            for line in lines:
                reserved[line["sku"]] -= line["quantity"]
        return {
            sku: {
                "reserved": reserved[sku],
                "reservations": reservations[sku],
                "releases": releases[sku],
            }
            for sku in reservations
        }

    def balances(self) -> dict[str, int]:
        """Per account: the balance the ledger must show."""
        totals: Counter[str] = Counter()
        for payment in self.payments:
            totals[payment.data["account_id"]] += payment.data["amount_cents"]
        return dict(totals)

    @property
    def events_on_bus(self) -> int:
        """Distinct valid events published to the topic (the audit log's length)."""
        return len(self.placed) + len(self.cancelled)


def publish_payments(sqs: Any, queue_url: str, scenario: Scenario, accounts: int = 3) -> None:
    """A few payment.captured events straight onto the FIFO ledger queue, grouped by account."""
    for index in range(accounts * 3):
        data = {
            "payment_id": f"pay-{uuid.uuid4().hex[:10]}",
            "account_id": f"acct-{index % accounts + 1}",
            "amount_cents": 1000 + 250 * index,
            "currency": "EUR",
        }
        scenario.payments.append(Envelope.new(PAYMENT_CAPTURED, data, source="demo.payments"))
    publisher = Publisher.to_queue(sqs, queue_url, group_by={PAYMENT_CAPTURED: "account_id"})
    _accepted(publisher.publish(scenario.payments))


def publish_duplicate(sns: Any, topic_arn: str, scenario: Scenario) -> None:
    """The same envelope twice on the topic, as SNS's at-least-once delivery can do."""
    items = [{"sku": "SKU-RED-MUG", "quantity": 1, "unit_price_cents": 1250}]
    data = {
        "order_id": f"ord-dup-{uuid.uuid4().hex[:8]}",
        "customer_id": "cust-dup",
        "items": items,
        "currency": "EUR",
    }
    scenario.duplicate = Envelope.new(ORDER_PLACED, data, source="demo.duplicate")
    publisher = Publisher.to_topic(sns, topic_arn)
    for _ in range(2):
        _accepted(publisher.publish([scenario.duplicate]))


def publish_poison(sns: Any, topic_arn: str, scenario: Scenario) -> None:
    """An order.placed whose payload breaks the contract: every subscriber dead-letters it."""
    items = [{"sku": "SKU-RED-MUG", "quantity": -1, "unit_price_cents": 1250}]
    data = {"order_id": "ord-poison", "customer_id": "cust-poison", "items": items}
    scenario.poison = Envelope.new(ORDER_PLACED, data, source="demo.poison")
    _accepted(Publisher.to_topic(sns, topic_arn).publish([scenario.poison]))


def _accepted(result: PublishResult) -> None:
    if not result.ok:
        raise RuntimeError(f"the sandbox refused events {result.failed_ids}")
