"""The orders domain, the worked example: orders placed and cancelled, payments captured."""

from __future__ import annotations

from typing import Annotated

from sluice.core import Catalog, Contract, Model, rules

ORDER_PLACED = "order.placed"
ORDER_CANCELLED = "order.cancelled"
PAYMENT_CAPTURED = "payment.captured"
STOCK_AUDIT_REQUESTED = "stock.audit_requested"

MAX_LINES = 99
"""The inventory worker applies an order in one TransactWriteItems, which takes at most 100
items: one update per distinct SKU plus the completion. More lines could never be applied."""

Id = Annotated[str, rules(min_len=1, max_len=128)]
Currency = Annotated[str, rules(pattern="[A-Z]{3}")]


class LineItem(Model):
    """One line of an order."""

    sku: Annotated[str, rules(min_len=1, max_len=64)]
    quantity: Annotated[int, rules(min=1, max=1000)]
    unit_price_cents: Annotated[int, rules(min=0, max=100_000_000)]


Lines = Annotated[tuple[LineItem, ...], rules(min_len=1, max_len=MAX_LINES)]


class OrderPlaced(Model):
    """order.placed v1: a customer placed an order; stock must be reserved."""

    order_id: Id
    customer_id: Id
    items: Lines
    currency: Currency = "EUR"

    @property
    def total_cents(self) -> int:
        """What the order costs."""
        return sum(item.quantity * item.unit_price_cents for item in self.items)


class OrderCancelled(Model):
    """order.cancelled v1: a placed order was cancelled; its stock must be released."""

    order_id: Id
    customer_id: Id
    items: Lines
    reason: Annotated[str, rules(max_len=500)] | None = None


class PaymentCaptured(Model):
    """payment.captured v1: money moved for an account; the ledger applies it in order."""

    payment_id: Id
    account_id: Id
    amount_cents: Annotated[int, rules(min=1, max=100_000_000)]
    currency: Currency = "EUR"
    order_id: Id | None = None


class StockAuditRequested(Model):
    """stock.audit_requested v1: a stock audit is due (fired nightly by a schedule)."""

    scope: Annotated[str, rules(min_len=1, max_len=64)] = "all"
    requested_by: Annotated[str, rules(min_len=1, max_len=128)] = "schedule"


CATALOG = Catalog(
    [
        Contract(ORDER_PLACED, 1, OrderPlaced),
        Contract(ORDER_CANCELLED, 1, OrderCancelled),
        Contract(PAYMENT_CAPTURED, 1, PaymentCaptured),
        Contract(STOCK_AUDIT_REQUESTED, 1, StockAuditRequested),
    ]
)
