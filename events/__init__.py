"""The orders app's event contracts: order placed and cancelled, payment captured.

The envelope, the catalog and the schema rules come from ``sluice.core``; this package
holds only what is about orders.
"""

from events.orders import (
    CATALOG,
    MAX_LINES,
    ORDER_CANCELLED,
    ORDER_PLACED,
    PAYMENT_CAPTURED,
    LineItem,
    OrderCancelled,
    OrderPlaced,
    PaymentCaptured,
)

__all__ = [
    "CATALOG",
    "MAX_LINES",
    "ORDER_CANCELLED",
    "ORDER_PLACED",
    "PAYMENT_CAPTURED",
    "LineItem",
    "OrderCancelled",
    "OrderPlaced",
    "PaymentCaptured",
]
