"""The ``orders`` table's item: written by the API, read back by it and by the relay.

This module is the one place that knows the item's attributes. The API stores typed
DynamoDB values; the relay receives the same item as a plain stream image.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from events import OrderPlaced
from sluice.core import dump, format_time, utc_now

PLACED = "PLACED"
CANCELLED = "CANCELLED"

_PUBLIC = ("id", "status", "customer_id", "currency", "total_cents", "created_at")
_OPTIONAL = ("cancelled_at", "cancel_reason", "correlation_id")


def _typed(value: Any) -> dict[str, Any]:
    """A plain JSON value as a DynamoDB attribute value."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [_typed(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _typed(v) for k, v in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__} in an order item")


def order_item(
    order: OrderPlaced,
    *,
    correlation_id: str,
    created_at: str,
    request_hash: str,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """The item a placed order is stored as (typed DynamoDB values)."""
    plain: dict[str, Any] = {
        "id": order.order_id,
        "status": PLACED,
        "customer_id": order.customer_id,
        "items": dump(order.items),
        "currency": order.currency,
        "total_cents": order.total_cents,
        "created_at": created_at,
        "correlation_id": correlation_id,
        "request_hash": request_hash,
    }
    if idempotency_key is not None:
        plain["idempotency_key"] = idempotency_key
    return {name: _typed(value) for name, value in plain.items()}


def _lines(image: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "sku": str(line["sku"]),
            "quantity": int(line["quantity"]),
            "unit_price_cents": int(line["unit_price_cents"]),
        }
        for line in image.get("items") or []
    ]


def order_view(image: Mapping[str, Any]) -> dict[str, Any]:
    """What ``GET /orders/{id}`` shows of a (deserialized) item."""
    view = {name: image.get(name) for name in _PUBLIC}
    view["total_cents"] = int(view["total_cents"] or 0)
    view["items"] = _lines(image)
    view.update({name: image[name] for name in _OPTIONAL if name in image})
    return view


def placed_data(image: Mapping[str, Any]) -> dict[str, Any]:
    """The ``order.placed`` payload of a stored order (to be checked against the contract).

    Values go through as stored, never coerced: an item written behind the API's back
    fails the contract check with a detail naming what is wrong, instead of crashing here
    or being silently changed (a quantity of 1.5 must not become 1).
    """
    return {
        "order_id": image.get("id"),
        "customer_id": image.get("customer_id"),
        "items": image.get("items") or [],
        "currency": image.get("currency"),
    }


def cancelled_data(image: Mapping[str, Any]) -> dict[str, Any]:
    """The ``order.cancelled`` payload of a cancelled order."""
    data = {key: value for key, value in placed_data(image).items() if key != "currency"}
    if image.get("cancel_reason"):
        data["reason"] = image["cancel_reason"]
    return data


def now_text() -> str:
    """The current time as stored on items (RFC 3339, UTC, milliseconds)."""
    return format_time(utc_now())
