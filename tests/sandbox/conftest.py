"""The ``sandbox`` fixture: one real sandbox (moto server, HTTP API, pollers) for the tier.

Besides the shipped workers it runs three test workers with short timeouts and tiny
backoff, so failure paths (partial batches, redrive after maxReceiveCount, stream bisect
and on-failure records) play out in seconds.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app import APP
from demo.traffic import Order, place
from events import CATALOG, ORDER_PLACED, OrderPlaced
from producers.orders import order_item
from sluice.core import Envelope
from sluice.core.schema import load
from sluice.demo import JsonClient, wait_until
from sluice.local.logs import LogSink
from sluice.local.sandbox import Sandbox
from sluice.publisher import Publisher
from sluice.runtime import RetryableError, Source, StreamChange, worker

pytestmark = pytest.mark.sandbox

_seen: set[str] = set()
_seen_lock = threading.Lock()


@worker(
    catalog=CATALOG,
    subscribes=[ORDER_PLACED],
    source=Source.SQS_QUEUE,
    name="picky",
    batch_size=10,
    batching_window_s=1,
    timeout_s=3,
    timeout_margin_s=0.5,
    backoff_base_s=0.2,
    max_receive_count=3,
)
def picky(event: Envelope[Any]) -> None:
    """Fails an order whose id starts with ``fail-`` the first time it sees it."""
    with _seen_lock:
        first = event.id not in _seen
        _seen.add(event.id)
    if first and event.data.order_id.startswith("fail-"):
        raise RetryableError("first attempt refused")


@worker(
    catalog=CATALOG,
    subscribes=[ORDER_PLACED],
    source=Source.SQS_QUEUE,
    name="stubborn",
    timeout_s=3,
    timeout_margin_s=0.5,
    backoff_base_s=0.2,
    max_receive_count=3,
)
def stubborn(event: Envelope[Any]) -> None:
    """Never manages an order whose id starts with ``never-``."""
    if event.data.order_id.startswith("never-"):
        raise RetryableError("the warehouse system is down")


@worker(
    catalog=CATALOG,
    source=Source.STREAM,
    table="orders",
    name="fussy",
    idempotent=False,
    retry_attempts=2,
    batch_size=10,
    timeout_s=5,
    timeout_margin_s=0.5,
)
def fussy(event: Envelope[StreamChange]) -> None:
    """Cannot handle orders of customer ``poison-stream``."""
    image = event.data.new_image or {}
    if image.get("customer_id") == "poison-stream":
        raise RetryableError("cannot handle this customer")


def stored_order(order_id: str, customer: str = "cust-s") -> dict[str, Any]:
    """An orders-table item as the API writes it (typed DynamoDB values)."""
    line = {"sku": "SKU-S", "quantity": 1, "unit_price_cents": 1}
    order = load(
        OrderPlaced, {"order_id": order_id, "customer_id": customer, "items": [line]}, "data"
    )
    return order_item(
        order,
        correlation_id=order_id,
        created_at="2026-11-23T18:00:00.000Z",
        request_hash="h",
        idempotency_key=None,
    )


@dataclass
class Running:
    """The running sandbox, its log, and helpers for the tests."""

    box: Sandbox
    log_path: Path
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def client(self) -> JsonClient:
        """An HTTP client for the API."""
        return JsonClient(self.box.api_url)

    def place(self, sku: str | None = None, quantity: int = 1, customer: str = "cust-t") -> Order:
        """POST one order with a fresh SKU (so stock checks see only this test)."""
        line = {
            "sku": sku or f"SKU-T-{uuid.uuid4().hex[:8]}",
            "quantity": quantity,
            "unit_price_cents": 300,
        }
        return place(self.client, Order(str(uuid.uuid4()), [line]))

    def lines(self, **match: Any) -> list[dict[str, Any]]:
        """Log records whose fields equal ``match``."""
        return [r for r in list(self.records) if all(r.get(k) == v for k, v in match.items())]

    def wait(self, check: Callable[[], Any], timeout_s: float = 20.0) -> None:
        """Wait until ``check()`` is truthy, or fail saying so."""
        assert wait_until(lambda: bool(check()), timeout_s), f"timed out after {timeout_s} s"

    def done(self, order: Order) -> bool:
        """True once every subscriber of order.placed finished the order."""
        names = [s.name for s in self.box.registry.subscribers(ORDER_PLACED)]
        return self.box.tally.done_at(order.correlation_id, names) is not None

    def stock(self, sku: str) -> dict[str, int]:
        """A SKU's stock counters."""
        assert self.box.clients is not None
        item = self.box.clients.dynamodb.get_item(
            TableName=self.box.topology.table("state"),
            Key={"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "STOCK"}},
        ).get("Item", {})
        return {k: int(v["N"]) for k, v in item.items() if "N" in v}

    def publisher(self, queue: str | None = None, **options: Any) -> Publisher:
        """A Publisher to the events topic, or to a queue by physical name."""
        assert self.box.clients is not None and self.box.provisioned is not None
        if queue is None:
            return Publisher.to_topic(self.box.clients.sns, self.box.provisioned.topic_arn)
        return Publisher.to_queue(self.box.clients.sqs, self.box.queue_url(queue), **options)

    def messages(self, queue: str) -> list[dict[str, Any]]:
        """Every message on a queue (left there), with all attributes."""
        assert self.box.clients is not None
        got = self.box.clients.sqs.receive_message(
            QueueUrl=self.box.queue_url(queue),
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(got.get("Messages", []))


@pytest.fixture(scope="package")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One sandbox for the whole tier, with the test workers added to the registry."""
    log_path = tmp_path_factory.mktemp("sandbox") / "sandbox.log"
    box = Sandbox(app=APP.with_workers(picky, stubborn, fussy), sink=LogSink(log_path))
    running = Running(box, log_path)
    box.sink.listeners.append(running.records.append)
    box.start()
    try:
        yield running
    finally:
        started = time.monotonic()
        box.stop()
        box.sink.close()
        assert time.monotonic() - started < 10, "the sandbox took too long to stop"


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """A private tmux server; ``tmux(args...)`` runs a tmux command and returns its output."""
    socket = tmp_path / "tmux.sock"

    def run(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(socket), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    yield run
    subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, check=False)


def attached(sandbox: Running, state_dir: Path) -> dict[str, str]:
    """An environment whose `sluice ... --local` attaches to the tier's sandbox."""
    sandbox.box.state(sandbox.log_path).save(state_dir / "sandbox.json")
    return {**os.environ, "SLUICE_STATE_DIR": str(state_dir), "COLUMNS": "160"}


def until(check: Callable[[], str | None], timeout_s: float, what: str) -> str:
    """What ``check()`` returns once it is not None; fails after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: str | None = None
    while time.monotonic() < deadline:
        last = check()
        if last is not None:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")
