"""Event factories seeded from events/samples/*.json, so tests use Lambda's real shapes."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from functools import cache
from importlib import resources
from typing import Any

from events import ORDER_CANCELLED, ORDER_PLACED, PAYMENT_CAPTURED
from sluice.core import Envelope

REGION = "eu-west-1"
ACCOUNT = "123456789012"


@cache
def _sample(name: str) -> dict[str, Any]:
    return json.loads(resources.files("events").joinpath(f"samples/{name}.json").read_text())


def sample(name: str) -> dict[str, Any]:
    """A fresh copy of a sample event."""
    return copy.deepcopy(_sample(name))


def order_data(
    order_id: str | None = None,
    *,
    sku: str = "SKU-1",
    quantity: int = 1,
    customer_id: str = "cust-1",
) -> dict[str, Any]:
    """An order.placed / order.cancelled payload."""
    return {
        "order_id": order_id or f"ord-{uuid.uuid4().hex[:8]}",
        "customer_id": customer_id,
        "items": [{"sku": sku, "quantity": quantity, "unit_price_cents": 500}],
    }


def placed(order_id: str | None = None, **kwargs: Any) -> Envelope[Any]:
    """An order.placed envelope with raw (dict) data."""
    return Envelope.new(ORDER_PLACED, order_data(order_id, **kwargs), source="tests")


def cancelled(order_id: str, **kwargs: Any) -> Envelope[Any]:
    """An order.cancelled envelope with raw (dict) data."""
    return Envelope.new(ORDER_CANCELLED, order_data(order_id, **kwargs), source="tests")


def payment(account_id: str, amount: int, payment_id: str | None = None) -> Envelope[Any]:
    """A payment.captured envelope."""
    data = {
        "payment_id": payment_id or f"pay-{uuid.uuid4().hex[:8]}",
        "account_id": account_id,
        "amount_cents": amount,
    }
    return Envelope.new(PAYMENT_CAPTURED, data, source="tests")


def queue_arn(name: str) -> str:
    """The ARN moto gives a queue in the tests' account and region."""
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def sqs_record(
    body: str | Envelope[Any],
    *,
    queue: str,
    receipt_handle: str = "rh",
    receive_count: int = 1,
    group_id: str | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """One SQS record shaped like the sample (FIFO fields when ``group_id`` is given)."""
    text = body.to_json() if isinstance(body, Envelope) else body
    record = sample("sqs_fifo" if group_id else "sqs_raw")["Records"][0]
    record.update(
        messageId=message_id or str(uuid.uuid4()),
        receiptHandle=receipt_handle,
        body=text,
        md5OfBody=hashlib.md5(text.encode()).hexdigest(),
        eventSourceARN=queue_arn(queue),
        messageAttributes={},
    )
    record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    if group_id:
        record["attributes"]["MessageGroupId"] = group_id
    return record


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    """A Lambda SQS event."""
    return {"Records": list(records)}


def sns_wrapped(envelope: Envelope[Any]) -> str:
    """The body SQS holds for an SNS notification without raw delivery."""
    note = json.loads(sample("sqs_sns_wrapped")["Records"][0]["body"])
    note["Message"] = envelope.to_json()
    note["MessageId"] = str(uuid.uuid4())
    return json.dumps(note)
