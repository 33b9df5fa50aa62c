"""Real HTTP traffic for the sandbox's API: what the demo, the tests and the benchmark send."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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


@dataclass
class Client:
    """A small JSON-over-HTTP client with one keep-alive connection per thread."""

    base_url: str
    _local: threading.local = field(default_factory=threading.local)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Send one request; the JSON answer (or {}) and the status."""
        url = urlsplit(self.base_url)
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(
                url.hostname or "127.0.0.1", url.port, timeout=30
            )
        payload = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})}
        try:
            conn.request(method, path, body=payload, headers=sent)
            answer = conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            conn.close()
            conn.request(method, path, body=payload, headers=sent)
            answer = conn.getresponse()
        raw = answer.read()
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {"raw": raw.decode(errors="replace")}
        return answer.status, doc if isinstance(doc, dict) else {"value": doc}


def random_items(rng: random.Random) -> list[dict[str, Any]]:
    """One to three order lines over the demo SKUs."""
    skus = rng.sample(SKUS, rng.randint(1, 3))
    return [
        {"sku": s, "quantity": rng.randint(1, 4), "unit_price_cents": 250 * rng.randint(1, 8)}
        for s in skus
    ]


def place(client: Client, order: Order) -> Order:
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


def cancel(client: Client, order: Order) -> None:
    """POST /orders/{id}/cancel."""
    status, doc = client.request(
        "POST", f"/orders/{order.order_id}/cancel", {"reason": "changed my mind"}
    )
    if status != 200:
        raise ApiError(f"cancel of {order.order_id} answered {status}: {doc}")
    order.cancelled = True


def place_orders(
    client: Client, count: int, *, rate: float, threads: int = 4, seed: int = 7
) -> list[Order]:
    """Place ``count`` random orders at about ``rate`` a second (paced: queues stay shallow)."""
    rng = random.Random(seed)
    orders = [Order(str(uuid.uuid4()), random_items(rng)) for _ in range(count)]
    start = time.monotonic()

    def paced(index: int) -> Order:
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return place(client, orders[index])

    with ThreadPoolExecutor(threads, thread_name_prefix="client") as pool:
        return list(pool.map(paced, range(count)))


def wait_until(
    done: Callable[[], bool],
    timeout_s: float,
    tick: Callable[[], None] | None = None,
    every_s: float = 0.1,
) -> bool:
    """Poll ``done`` until it holds or time runs out; ``tick`` runs between polls."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return True
        if tick is not None:
            tick()
        time.sleep(every_s)
    return done()
