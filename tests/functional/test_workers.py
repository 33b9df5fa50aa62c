"""The example workers' effects: countable, conditional, exactly once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.conftest import Pipeline
from tests.factories import cancelled, payment, placed, sqs_event, sqs_record


def _items(pipeline: Pipeline, pk: str) -> list[dict[str, Any]]:
    answer = pipeline.clients.dynamodb.query(
        TableName="sluice-state",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )
    return list(answer["Items"])


def test_inventory_reserves_every_line_and_releases_on_cancel(pipeline: Pipeline) -> None:
    order = placed("ord-1", sku="MUG", quantity=3)
    inventory = pipeline.worker("inventory")
    inventory.handler(sqs_event(sqs_record(order, queue="sluice-inventory")), None)
    assert pipeline.stock("MUG") == {"reserved": 3, "reservations": 1}
    cancel = cancelled("ord-1", sku="MUG", quantity=3)
    inventory.handler(sqs_event(sqs_record(cancel, queue="sluice-inventory")), None)
    assert pipeline.stock("MUG") == {"reserved": 0, "reservations": 1, "releases": 1}


def test_receipts_and_audit_write_one_item_per_event(pipeline: Pipeline) -> None:
    order = placed("ord-9", quantity=2)
    for name in ("receipts", "audit"):
        batch = sqs_event(sqs_record(order, queue=f"sluice-{name}"))
        assert pipeline.worker(name).handler(batch, None) == {"batchItemFailures": []}
    [receipt] = _items(pipeline, "RECEIPT#ord-9")
    assert receipt["total_cents"] == {"N": "1000"}
    assert receipt["event_id"] == {"S": order.id}
    [entry] = _items(pipeline, "AUDIT#order.placed")
    assert entry["correlation_id"] == {"S": order.correlation_id}


def test_ledger_applies_payments_in_order_and_refuses_to_go_back(pipeline: Pipeline) -> None:
    ledger = pipeline.worker("ledger")
    first, second = payment("acct-1", 100, "p1"), payment("acct-1", 250, "p2")
    late = payment("acct-1", 999, "p0")
    queue = "sluice-ledger.fifo"
    batch = sqs_event(*(sqs_record(e, queue=queue, group_id="acct-1") for e in (first, second)))
    assert ledger.handler(batch, None) == {"batchItemFailures": []}
    [balance] = [i for i in _items(pipeline, "ACCOUNT#acct-1") if i["sk"]["S"] == "BALANCE"]
    assert (balance["balance_cents"], balance["entries"]) == ({"N": "350"}, {"N": "2"})
    # GIVEN a payment stamped before the last applied one
    stale = replace(late, time=first.time - timedelta(seconds=5))
    answer = ledger.handler(sqs_event(sqs_record(stale, queue=queue, group_id="acct-1")), None)
    # THEN it is a permanent error (out of order), dead-lettered, and the balance is unchanged
    assert answer == {"batchItemFailures": []}
    [letter] = pipeline.drain("sluice-ledger-dlq.fifo")
    assert letter["MessageAttributes"]["sluice.failure_reason"]["StringValue"] == "out_of_order"
    assert letter["Attributes"]["MessageGroupId"] == "acct-1"
    [balance] = [i for i in _items(pipeline, "ACCOUNT#acct-1") if i["sk"]["S"] == "BALANCE"]
    assert balance["balance_cents"] == {"N": "350"}
