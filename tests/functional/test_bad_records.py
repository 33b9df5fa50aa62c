"""Bad records get a precise reason in the DLQ; the good ones in the batch go on."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Pipeline
from tests.factories import placed, sqs_event, sqs_record

QUEUE = "sluice-inventory"


def _with(**changes: object) -> str:
    doc = placed("ord-1").to_dict()
    doc.update(changes)
    return json.dumps(doc)


def _without(field: str) -> str:
    doc = placed("ord-1").to_dict()
    del doc[field]
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("body", "reason", "detail"),
    [
        ("<xml/>", "malformed_json", "body is not JSON"),
        ('"just a string"', "invalid_envelope", "must be a JSON object, got str"),
        (_without("correlation_id"), "invalid_envelope", "correlation_id: required field"),
        (_with(version="one"), "invalid_envelope", "version: must be an integer >= 1"),
        (
            _with(data={"order_id": "o", "customer_id": 7, "items": []}),
            "invalid_payload",
            "data.customer_id: must be a string, got int",
        ),
        (_with(type="order.refunded"), "unknown_event_type", "unknown event type 'order.refunded'"),
        (_with(version=2), "unsupported_version", "order.placed v2 is not supported"),
        (_with(type="payment.captured"), "invalid_payload", "data.payment_id: required"),
    ],
    # Fixed ids: the bodies hold fresh uuids, and every pytest-xdist worker must collect alike.
    ids=[
        "xml",
        "string",
        "no-correlation-id",
        "version-one",
        "bad-payload",
        "unknown-type",
        "version-2",
        "other-type-payload",
    ],
)
def test_a_bad_record_lands_in_the_dlq_with_its_reason(
    pipeline: Pipeline, body: str, reason: str, detail: str
) -> None:
    # GIVEN a batch with one bad record and one good one
    good = placed("fine", sku="OK")
    batch = sqs_event(sqs_record(body, queue=QUEUE), sqs_record(good, queue=QUEUE))
    # WHEN inventory runs it
    answer = pipeline.worker("inventory").handler(batch, None)
    # THEN the good one took effect, the bad one is in the DLQ, untouched, with its reason
    assert answer == {"batchItemFailures": []}
    assert pipeline.stock("OK")["reserved"] == 1
    [letter] = pipeline.drain("sluice-inventory-dlq")
    assert letter["Body"] == body
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attrs["sluice.failure_reason"] == reason
    assert detail in attrs["sluice.failure_detail"]


def test_an_event_the_worker_does_not_subscribe_to_is_dead_lettered(pipeline: Pipeline) -> None:
    # GIVEN a valid payment.captured that reached inventory (a filter policy gone wrong)
    data = {"payment_id": "p", "account_id": "a", "amount_cents": 5}
    stray = sqs_record(_with(type="payment.captured", data=data), queue=QUEUE)
    # WHEN inventory runs it THEN it is handled, not retried forever...
    assert pipeline.worker("inventory").handler(sqs_event(stray), None) == {"batchItemFailures": []}
    # ...and kept in the DLQ with the reason
    [letter] = pipeline.drain("sluice-inventory-dlq")
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attrs["sluice.failure_reason"] == "not_subscribed"
    assert attrs["sluice.failure_detail"] == (
        "worker 'inventory' does not subscribe to 'payment.captured'"
    )


def test_a_permanent_failure_that_cannot_reach_a_dlq_stays_on_its_queue(
    pipeline: Pipeline,
) -> None:
    # GIVEN a queue with no redrive policy
    pipeline.clients.sqs.create_queue(QueueName="no-dlq")
    record = sqs_record("garbage", queue="no-dlq")
    # WHEN the record is poison THEN it is not dropped: it is answered failed and SQS keeps it
    answer = pipeline.worker("inventory").handler(sqs_event(record), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
