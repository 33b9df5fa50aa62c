"""Real HTTP traffic for the orders API: what the demo, the tests and the benchmark send."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sluice.demo import JsonClient, paced

SKUS = ("SKU-RED-MUG", "SKU-BLUE-CAP", "SKU-TEA-TIN", "SKU-SOCKS", "SKU-NOTEBOOK")


class ApiError(RuntimeError):
    """The API refused a request the traffic expected it to accept."""


@dataclass
class Order:
    """One order placed through the API, and what happened to it."""

    correlation_id: str
    items: list[dict[str, Any]]
    order_id: str = ""
    posted_at: float = 0.0
    cancelled: bool = False


def random_items(rng: random.Random) -> list[dict[str, Any]]:
    """One to three order lines over the demo SKUs."""
    skus = rng.sample(SKUS, rng.randint(1, 3))
    return [
        {"sku": s, "quantity": rng.randint(1, 4), "unit_price_cents": 250 * rng.randint(1, 8)}
        for s in skus
    ]


def place(client: JsonClient, order: Order) -> Order:
    """POST /orders; fills in the order id and when it was posted."""
    order.posted_at = time.time()
    status, doc = client.request(
        "POST",
        "/orders",
        {"customer_id": "cust-demo", "currency": "EUR", "items": order.items},
        {"X-Correlation-Id": order.correlation_id, "Idempotency-Key": order.correlation_id},
    )
    if status != 202:
        raise ApiError(f"POST /orders answered {status}: {doc}")
    order.order_id = str(doc.get("id") or doc.get("order_id"))
    return order


def cancel(client: JsonClient, order: Order) -> None:
    """POST /orders/{id}/cancel."""
    status, doc = client.request(
        "POST", f"/orders/{order.order_id}/cancel", {"reason": "changed my mind"}
    )
    if status != 200:
        raise ApiError(f"cancel of {order.order_id} answered {status}: {doc}")
    order.cancelled = True


def place_orders(
    client: JsonClient, count: int, *, rate: float, threads: int = 4, seed: int = 7
) -> list[Order]:
    """Place ``count`` random orders at about ``rate`` a second (paced: queues stay shallow)."""
    rng = random.Random(seed)
    orders = [Order(str(uuid.uuid4()), random_items(rng)) for _ in range(count)]
    return paced(count, rate, lambda index: place(client, orders[index]), threads=threads)
