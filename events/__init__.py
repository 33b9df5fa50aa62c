"""Event contracts: the Envelope, the catalog of versioned payloads, and their errors.

This package imports nothing else of Sluice's, so anything may depend on it.
"""

from events.catalog import Catalog, Contract
from events.envelope import Envelope, format_time, parse_json, utc_now
from events.errors import (
    ContractError,
    EnvelopeShapeError,
    MalformedJsonError,
    PayloadError,
    UnknownEventTypeError,
    UnsupportedVersionError,
)
from events.orders import (
    CATALOG,
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
    "ORDER_CANCELLED",
    "ORDER_PLACED",
    "PAYMENT_CAPTURED",
    "Catalog",
    "Contract",
    "ContractError",
    "Envelope",
    "EnvelopeShapeError",
    "LineItem",
    "MalformedJsonError",
    "OrderCancelled",
    "OrderPlaced",
    "PayloadError",
    "PaymentCaptured",
    "UnknownEventTypeError",
    "UnsupportedVersionError",
    "format_time",
    "parse_json",
    "utc_now",
]
