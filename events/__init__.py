"""The orders app's event contracts: order placed and cancelled, payment captured, and the
nightly stock audit.

The envelope, the catalog and the schema rules come from ``sluice.core``; this package
holds only what is about orders.
"""

from events.orders import (
    CATALOG,
    MAX_LINES,
    ORDER_CANCELLED,
    ORDER_PLACED,
    PAYMENT_CAPTURED,
    STOCK_AUDIT_REQUESTED,
    LineItem,
    OrderCancelled,
    OrderPlaced,
    PaymentCaptured,
    StockAuditRequested,
)

__all__ = [
    "CATALOG",
    "MAX_LINES",
    "ORDER_CANCELLED",
    "ORDER_PLACED",
    "PAYMENT_CAPTURED",
    "STOCK_AUDIT_REQUESTED",
    "LineItem",
    "OrderCancelled",
    "OrderPlaced",
    "PaymentCaptured",
    "StockAuditRequested",
]
