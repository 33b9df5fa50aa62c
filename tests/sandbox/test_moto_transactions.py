"""The sandbox's moto runs a per-item transaction backup: a cancelled transaction leaves
nothing behind, neither items nor stream records."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.conftest import Running, stored_order

pytestmark = pytest.mark.sandbox


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "T"}}


def _fails(sandbox: Running, items: list[dict[str, Any]]) -> None:
    assert sandbox.box.clients is not None
    with pytest.raises(ClientError) as caught:
        sandbox.box.clients.dynamodb.transact_write_items(TransactItems=items)
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"


def test_a_cancelled_transaction_rolls_back_puts_and_updates(sandbox: Running) -> None:
    assert sandbox.box.clients is not None
    db, table = sandbox.box.clients.dynamodb, sandbox.box.topology.table("state")
    new, counter, absent = (f"TX#{uuid.uuid4().hex}" for _ in range(3))
    db.put_item(TableName=table, Item={**_key(counter), "n": {"N": "1"}})
    # WHEN a put and an update are followed by a condition that does not hold
    _fails(
        sandbox,
        [
            {"Put": {"TableName": table, "Item": {**_key(new), "n": {"N": "9"}}}},
            {
                "Update": {
                    "TableName": table,
                    "Key": _key(counter),
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": _key(absent),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ],
    )
    # THEN neither write is visible
    assert "Item" not in db.get_item(TableName=table, Key=_key(new))
    assert db.get_item(TableName=table, Key=_key(counter))["Item"]["n"] == {"N": "1"}
    # AND a transaction that holds still commits every write
    db.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": _key(counter),
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Put": {"TableName": table, "Item": {**_key(new), "n": {"N": "9"}}}},
        ]
    )
    assert db.get_item(TableName=table, Key=_key(counter))["Item"]["n"] == {"N": "2"}
    assert db.get_item(TableName=table, Key=_key(new))["Item"]["n"] == {"N": "9"}


def test_a_cancelled_transaction_leaves_no_stream_record(sandbox: Running) -> None:
    assert sandbox.box.clients is not None
    db, orders = sandbox.box.clients.dynamodb, sandbox.box.topology.table("orders")
    ghost, real = f"ord-ghost-{uuid.uuid4().hex[:8]}", f"ord-real-{uuid.uuid4().hex[:8]}"
    # WHEN a write to the streamed table is cancelled, and then another one commits
    _fails(
        sandbox,
        [
            {"Put": {"TableName": orders, "Item": stored_order(ghost)}},
            {
                "ConditionCheck": {
                    "TableName": orders,
                    "Key": {"id": {"S": ghost + "-x"}},
                    "ConditionExpression": "attribute_exists(id)",
                }
            },
        ],
    )
    db.put_item(TableName=orders, Item=stored_order(real))
    # THEN the stream delivers the committed write and never the cancelled one
    sandbox.wait(lambda: sandbox.lines(message="stream delivered", correlation_id=real))
    assert not sandbox.lines(message="stream delivered", correlation_id=ghost)
