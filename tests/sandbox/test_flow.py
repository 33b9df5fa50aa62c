"""End to end through the real HTTP API and the real moto server: the happy paths."""

from __future__ import annotations

import uuid

import pytest

from demo.traffic import cancel
from events import ORDER_PLACED
from sluice.core import Envelope
from sluice.tools.trace import hops, read
from tests.sandbox.conftest import Running

pytestmark = pytest.mark.sandbox


def test_an_order_reaches_every_subscribed_worker(sandbox: Running) -> None:
    # GIVEN a sandbox WHEN an order is POSTed over HTTP
    order = sandbox.place(quantity=3)
    # THEN inventory, receipts and audit each finish it, and their effects are there
    sandbox.wait(lambda: sandbox.done(order))
    sku = order.items[0]["sku"]
    assert sandbox.stock(sku) == {"reserved": 3, "reservations": 1}
    assert sandbox.box.clients is not None
    receipt = sandbox.box.clients.dynamodb.get_item(
        TableName=sandbox.box.topology.table("state"),
        Key={"pk": {"S": f"RECEIPT#{order.order_id}"}, "sk": {"S": "RECEIPT"}},
    )
    assert receipt["Item"]["total_cents"] == {"N": "900"}
    finished = sandbox.lines(correlation_id=order.correlation_id, outcome="done")
    queue_workers = sorted(line["worker"] for line in finished if line["worker"] != "fussy")
    assert queue_workers == ["audit", "inventory", "receipts"]


def test_a_cancel_releases_the_stock(sandbox: Running) -> None:
    # GIVEN a placed order that reserved 2 units
    order = sandbox.place(quantity=2)
    sku = order.items[0]["sku"]
    sandbox.wait(lambda: sandbox.stock(sku).get("reserved") == 2)
    # WHEN it is cancelled over HTTP
    cancel(sandbox.client, order)
    # THEN the inventory releases them, once
    sandbox.wait(lambda: sandbox.stock(sku).get("releases") == 1)
    assert sandbox.stock(sku) == {"reserved": 0, "reservations": 1, "releases": 1}


def test_a_duplicate_sns_delivery_is_absorbed(sandbox: Running) -> None:
    # GIVEN one order.placed envelope WHEN SNS delivers it twice (two publishes)
    sku = f"SKU-T-{uuid.uuid4().hex[:8]}"
    data = {
        "order_id": f"ord-{uuid.uuid4().hex[:8]}",
        "customer_id": "cust-dup",
        "items": [{"sku": sku, "quantity": 4, "unit_price_cents": 100}],
    }
    envelope = Envelope.new(ORDER_PLACED, data, source="tests")
    publisher = sandbox.publisher()
    assert publisher.publish([envelope]).ok
    cid = envelope.correlation_id
    sandbox.wait(lambda: sandbox.lines(correlation_id=cid, worker="inventory", outcome="done"))
    assert publisher.publish([envelope]).ok
    # THEN each subscriber receives both copies but applies the event once
    for queue in ("sluice-inventory", "sluice-receipts", "sluice-audit"):
        sandbox.wait(lambda q=queue: len(sandbox.lines(correlation_id=cid, queue=q)) == 2)
    sandbox.wait(lambda: sandbox.box.depths()["inventory"][0] == 0)
    assert sandbox.stock(sku) == {"reserved": 4, "reservations": 1}
    done = sandbox.lines(correlation_id=cid, worker="inventory", outcome="done")
    assert len(done) == 1


def test_the_trace_of_one_order_shows_every_hop_in_order(sandbox: Running) -> None:
    # GIVEN an order that went all the way through
    order = sandbox.place()
    sandbox.wait(lambda: sandbox.done(order))
    sandbox.box.sink.flush()
    # WHEN its hops are read back from the JSON log file
    found = hops(read(sandbox.log_path), order.correlation_id)
    # THEN API, table write, relay, SNS delivery, each queue and each worker appear, in order
    kinds = [(h.hop, h.where) for h in found]
    assert kinds[0] == ("API", "http")
    for hop in [("table write", "orders table"), ("stream", "relay")]:
        assert hop in kinds
    for name in ("inventory", "receipts", "audit"):
        assert ("enqueued", f"sluice-{name}") in kinds
        assert ("queue", f"sluice-{name}") in kinds
        assert ("worker", name) in kinds
    position = {hop: kinds.index(hop) for hop in kinds}
    assert position[("API", "http")] < position[("table write", "orders table")]
    assert position[("table write", "orders table")] < position[("stream", "relay")]
    assert position[("stream", "relay")] < position[("enqueued", "sluice-receipts")]
    assert position[("queue", "sluice-receipts")] < position[("worker", "receipts")]
    assert [h.ts for h in found] == sorted(h.ts for h in found)
