"""``sluice.testing``'s event builders drive real workers without the sandbox: the relay
from a DynamoDB stream event, the FIFO ledger from a FIFO SQS event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import APP
from events import PAYMENT_CAPTURED
from sluice.core import Envelope
from sluice.runtime import stream_event_id
from sluice.testing import LocalAws, fifo_sqs_event, local_aws, stream_event, stream_record

ORDER = {
    "id": "ord-b1",
    "status": "PLACED",
    "customer_id": "c-1",
    "items": [{"sku": "MUG", "quantity": 2, "unit_price_cents": 900}],
    "currency": "EUR",
    "correlation_id": "corr-b1",
}


@pytest.fixture
def aws() -> Any:
    with local_aws(APP) as provisioned:
        yield provisioned


def test_a_stream_event_drives_the_relay_without_the_sandbox(aws: LocalAws) -> None:
    # GIVEN a stream batch: an order written, then another one removed
    table = aws.table("orders")
    insert = stream_record("INSERT", {"id": "ord-b1"}, ORDER, table=table)
    remove = stream_record("REMOVE", {"id": "ord-x"}, None, {**ORDER, "id": "ord-x"}, table=table)
    # WHEN the relay runs it
    response = aws.worker("relay").handler(stream_event(insert, remove), None)
    # THEN only the INSERT became an event on the bus, under the record's deterministic id
    assert response == {"batchItemFailures": []}
    [message] = aws.drain("sluice-audit")
    event = json.loads(message["Body"])
    assert (event["type"], event["data"]["order_id"]) == ("order.placed", "ord-b1")
    sequence = insert["dynamodb"]["SequenceNumber"]
    assert event["id"] == stream_event_id(table, {"id": "ord-b1"}, sequence)
    assert event["correlation_id"] == "corr-b1"


def test_stream_records_carry_typed_images_and_growing_sequence_numbers() -> None:
    first = stream_record("MODIFY", {"id": "a"}, {"n": 2, "tags": {"x"}, "ok": True}, {"n": 1})
    second = stream_record("INSERT", {"id": "b"})
    body = first["dynamodb"]
    assert body["NewImage"] == {"n": {"N": "2"}, "tags": {"SS": ["x"]}, "ok": {"BOOL": True}}
    assert body["OldImage"] == {"n": {"N": "1"}}
    assert int(second["dynamodb"]["SequenceNumber"]) > int(body["SequenceNumber"])
    with pytest.raises(ValueError, match="INSERT, MODIFY or REMOVE"):
        stream_record("UPDATE", {"id": "a"})


def payment(account: str, amount: int, minutes: int) -> Envelope[Any]:
    data = {"payment_id": f"pay-{account}-{minutes}", "account_id": account, "amount_cents": amount}
    at = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    return Envelope.new(PAYMENT_CAPTURED, data, source="tests", time=at)


def test_a_fifo_event_drives_the_ledger_in_order_per_account(aws: LocalAws) -> None:
    # GIVEN payments of two accounts, each account's in time order (the ledger refuses an
    # entry older than the account's last one, so out of order would dead-letter it)
    payments = [payment("a-1", 100 * n, n) for n in range(1, 6)] + [payment("a-2", 7, 1)]
    batch = fifo_sqs_event(
        *payments,
        group_id=lambda e: e.data["account_id"],
        queue_arn=aws.queue_arn("sluice-ledger.fifo"),
    )
    # WHEN the FIFO ledger runs the batch
    response = aws.worker("ledger").handler(batch, None)
    # THEN every payment applied, in order, and nothing was dead-lettered
    assert response == {"batchItemFailures": []}
    db, table = aws.clients.dynamodb, aws.table("state")
    balance = db.get_item(TableName=table, Key={"pk": {"S": "ACCOUNT#a-1"}, "sk": {"S": "BALANCE"}})
    assert balance["Item"]["balance_cents"] == {"N": "1500"}
    assert aws.drain("sluice-ledger-dlq.fifo") == []
    # ... and each record carried its group, deduplication id and sequence number
    attributes = [record["attributes"] for record in batch["Records"]]
    assert [a["MessageGroupId"] for a in attributes] == ["a-1"] * 5 + ["a-2"]
    assert [a["MessageDeduplicationId"] for a in attributes] == [p.id for p in payments]
    sequences = [int(a["SequenceNumber"]) for a in attributes]
    assert sequences == sorted(set(sequences))
