"""The orders domain, the worked example: orders placed and cancelled, payments captured."""

from __future__ import annotations

from dataclasses import dataclass, field

from sluice.core.catalog import Catalog, Contract
from sluice.core.schema import rules

ORDER_PLACED = "order.placed"
ORDER_CANCELLED = "order.cancelled"
PAYMENT_CAPTURED = "payment.captured"
STOCK_AUDIT_REQUESTED = "stock.audit_requested"

_ID = rules(min_len=1, max_len=128)
_CURRENCY = rules(pattern="[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line of an order."""

    sku: str = field(metadata=rules(min_len=1, max_len=64))
    quantity: int = field(metadata=rules(min=1, max=1000))
    unit_price_cents: int = field(metadata=rules(min=0, max=100_000_000))


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    """order.placed v1: a customer placed an order; stock must be reserved."""

    order_id: str = field(metadata=_ID)
    customer_id: str = field(metadata=_ID)
    items: tuple[LineItem, ...] = field(metadata=rules(min_len=1, max_len=100))
    currency: str = field(default="EUR", metadata=_CURRENCY)

    @property
    def total_cents(self) -> int:
        """What the order costs."""
        return sum(item.quantity * item.unit_price_cents for item in self.items)


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """order.cancelled v1: a placed order was cancelled; its stock must be released."""

    order_id: str = field(metadata=_ID)
    customer_id: str = field(metadata=_ID)
    items: tuple[LineItem, ...] = field(metadata=rules(min_len=1, max_len=100))
    reason: str | None = field(default=None, metadata=rules(max_len=500))


@dataclass(frozen=True, slots=True)
class PaymentCaptured:
    """payment.captured v1: money moved for an account; the ledger applies it in order."""

    payment_id: str = field(metadata=_ID)
    account_id: str = field(metadata=_ID)
    amount_cents: int = field(metadata=rules(min=1, max=100_000_000))
    currency: str = field(default="EUR", metadata=_CURRENCY)
    order_id: str | None = field(default=None, metadata=_ID)


@dataclass(frozen=True, slots=True)
class StockAuditRequested:
    """stock.audit_requested v1: a stock audit is due (fired nightly by a schedule)."""

    scope: str = field(default="all", metadata=rules(min_len=1, max_len=64))
    requested_by: str = field(default="schedule", metadata=rules(min_len=1, max_len=128))


CATALOG = Catalog(
    [
        Contract(ORDER_PLACED, 1, OrderPlaced),
        Contract(ORDER_CANCELLED, 1, OrderCancelled),
        Contract(PAYMENT_CAPTURED, 1, PaymentCaptured),
        Contract(STOCK_AUDIT_REQUESTED, 1, StockAuditRequested),
    ]
)
