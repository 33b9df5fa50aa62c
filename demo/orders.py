"""The orders demo: what ``sluice demo`` sends to the reference app, and what it checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from demo import scenario
from demo.scenario import Scenario
from demo.traffic import cancel, place_orders
from events import ORDER_CANCELLED, ORDER_PLACED
from sluice.demo import Check, Demo, JsonClient, Sandbox, Step, Timed, fan_out, table_items

RATE = 10.0
"""Orders per second: paced below what moto sustains, so queues stay shallow."""


class OrdersDemo(Demo):
    """Orders over HTTP, payments to the FIFO ledger, one poison event and one duplicate."""

    unit = "order"
    default_count = 50
    flow = "HTTP API -> DynamoDB -> stream -> relay -> SNS -> SQS (+DLQ) -> workers; FIFO ledger"
    timed_from = "POST"

    def __init__(self) -> None:
        self.plan = Scenario()

    def send(self, box: Sandbox, count: int, step: Step) -> None:
        """Orders and cancels over HTTP; payments, a poison event and a duplicate published."""
        assert box.clients is not None and box.provisioned is not None
        client, topic = JsonClient(box.api_url), box.provisioned.topic_arn
        with step(f"placed {count} orders through POST /orders (paced at {RATE}/s)"):
            self.plan.orders = place_orders(client, count, rate=RATE)
        with step("cancelled every 8th order through POST /orders/<id>/cancel"):
            for order in self.plan.orders[::8]:
                cancel(client, order)
        with step("sent 9 payment.captured events to the FIFO ledger queue (3 accounts)"):
            ledger = box.topology.queues(box.registry.get("ledger").spec).queue
            scenario.publish_payments(box.clients.sqs, box.queue_url(ledger), self.plan)
        with step("published one poison event (negative quantity) to the topic"):
            scenario.publish_poison(box.clients.sns, topic, self.plan)
        with step("published one event twice (an SNS duplicate delivery)"):
            scenario.publish_duplicate(box.clients.sns, topic, self.plan)

    def expected(self, box: Sandbox) -> Mapping[str, int]:
        """Each subscriber's share of the orders and cancels; the ledger, every payment."""
        published = {ORDER_PLACED: len(self.plan.placed), ORDER_CANCELLED: len(self.plan.cancelled)}
        return {**fan_out(box.registry, published), "ledger": len(self.plan.payments)}

    def settled(self, box: Sandbox) -> bool:
        """Every subscriber of order.placed dead-lettered the poison event."""
        poisoned = box.registry.subscribers(ORDER_PLACED)
        return all(box.tally.count(spec.name, "permanent") >= 1 for spec in poisoned)

    def checks(self, box: Sandbox) -> Sequence[Check]:
        """Inventory, receipts, audit and ledger, read from the state table."""
        items = table_items(box, "state")
        fields = ("reserved", "reservations", "releases")
        stock = {
            i["pk"][4:]: {f: i.get(f, 0) for f in fields}
            for i in items
            if i["pk"].startswith("SKU#")
        }
        balances = {
            i["pk"][8:]: i["balance_cents"]
            for i in items
            if i["pk"].startswith("ACCOUNT#") and i["sk"] == "BALANCE"
        }
        # each receipt and audit entry counts its own writes: a double effect shows here
        receipts = sum(i.get("issued", 0) for i in items if i["pk"].startswith("RECEIPT#"))
        audited = sum(i.get("writes", 0) for i in items if i["pk"].startswith("AUDIT#"))
        return [
            Check("inventory = placed - cancelled", self.plan.stock(), stock),
            Check("receipts = orders placed", len(self.plan.placed), receipts),
            Check("audit entries = events on the bus", self.plan.events_on_bus, audited),
            Check("ledger balances = sum of payments", self.plan.balances(), balances),
        ]

    def timed(self, box: Sandbox) -> Sequence[Timed]:
        """Orders not cancelled (a cancel overwrites the completion times), until every
        subscriber of order.placed is done."""
        subscribers = tuple(spec.name for spec in box.registry.subscribers(ORDER_PLACED))
        return [
            Timed(order.correlation_id, order.posted_at, subscribers)
            for order in self.plan.orders
            if not order.cancelled
        ]

    def follow(self) -> str | None:
        """The last order placed."""
        return self.plan.orders[-1].correlation_id if self.plan.orders else None
