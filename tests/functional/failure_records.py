"""Stream failures as Lambda and S3 leave them: a failed change, the invocation record Lambda
writes to the failure bucket, and the S3 notice that announces it on the failure queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest

from events import OrderPlaced
from producers.orders import order_item
from sluice.core import format_time
from sluice.core.schema import load
from sluice.runtime import Clients
from tests.factories import order_data

FAILURES = "sluice-relay-stream-failures"
TABLE = "sluice-orders"
INVENTORY = "sluice-inventory"
SHARD = "shardId-00000001700000000000-0000abcd"
STREAM_ARN = f"arn:aws:dynamodb:eu-west-1:123456789012:table/{TABLE}/stream/2024-01-01T00:00:00.000"
KEY = f"aws/lambda/0b6f0e5c-0000-4000-8000-000000000001/{SHARD}/2024/01/02/2024-01-02T03.04.05-1"


def order_row(order_id: str, *, sku: str = "SKU-1", quantity: int = 1) -> dict[str, Any]:
    """The orders table's item for a new order, as the API writes it."""
    order = load(OrderPlaced, order_data(order_id, sku=sku, quantity=quantity))
    return order_item(
        order,
        correlation_id=f"corr-{order_id}",
        created_at=format_time(datetime.now(UTC)),
        request_hash="h",
        idempotency_key=None,
    )


def change(order_id: str, sequence: int, *, sku: str = "SKU-1", quantity: int = 1) -> Any:
    """A Lambda-shaped INSERT of an order, as the relay received it when it failed."""
    item = order_row(order_id, sku=sku, quantity=quantity)
    return {
        "eventID": f"ev-{sequence}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": {
            "ApproximateCreationDateTime": 1704164645.0,
            "Keys": {"id": item["id"]},
            "NewImage": item,
            "SequenceNumber": str(sequence),
            "SizeBytes": 200,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def invocation_record(records: list[Any], *, payload: bool = True) -> dict[str, Any]:
    """What Lambda writes to an S3 on-failure destination for a DynamoDB stream batch."""
    now = datetime.now(UTC)
    doc: dict[str, Any] = {
        "requestContext": {
            "requestId": "316aa6d0-8154-4f0d-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:sluice-relay",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": format_time(now),
        "DDBStreamBatchInfo": {
            "shardId": SHARD,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": format_time(now - timedelta(seconds=5)),
            "approximateArrivalOfLastRecord": format_time(now),
            "batchSize": len(records),
            "streamArn": STREAM_ARN,
        },
    }
    if payload:
        doc["payload"] = json.dumps({"Records": records})  # an escaped JSON string, as AWS does
    return doc


def notice_body(bucket: str, key: str) -> str:
    """An S3 event notification announcing a new object, as S3 puts it on the queue (the key
    URL-encoded)."""
    entry = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key, safe="/")},
        },
    }
    return json.dumps({"Records": [entry]})


class GetObjects:
    """The bucket and ExpectedBucketOwner of every GetObject of the S3 clients made from now
    (by any ``Clients``: the CLI makes its own)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.buckets: list[str] = []
        self.owners: list[str | None] = []
        make = Clients.client

        def client(clients: Clients, service: str) -> Any:
            made = make(clients, service)
            if service == "s3":
                made.meta.events.register("before-parameter-build.s3.GetObject", self._note)
            return made

        monkeypatch.setattr(Clients, "client", client)

    def _note(self, params: dict[str, Any], **_: Any) -> None:
        self.buckets.append(params["Bucket"])
        self.owners.append(params.get("ExpectedBucketOwner"))
