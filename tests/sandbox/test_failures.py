"""End to end: every failure path ends where Lambda and SQS would put it, with its reason."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote_plus

import pytest

from events import ORDER_PLACED
from sluice.core import Envelope
from sluice.runtime.queues import DETAIL, REASON, WORKER
from tests.sandbox.conftest import Running, stored_order

pytestmark = pytest.mark.sandbox


def _order(order_id: str, customer: str = "cust-t") -> Envelope[Any]:
    data = {
        "order_id": order_id,
        "customer_id": customer,
        "items": [{"sku": "SKU-F", "quantity": 1, "unit_price_cents": 100}],
    }
    return Envelope.new(ORDER_PLACED, data, source="tests")


def _in_dlq(sandbox: Running, dlq: str, envelope: Envelope[Any]) -> list[dict[str, Any]]:
    return [m for m in sandbox.messages(dlq) if json.loads(m["Body"])["id"] == envelope.id]


def test_a_poison_event_goes_straight_to_the_dlq_with_its_reason(sandbox: Running) -> None:
    # GIVEN an order.placed whose payload breaks the contract
    data = {
        "order_id": f"ord-{uuid.uuid4().hex[:8]}",
        "customer_id": "cust-p",
        "items": [{"sku": "SKU-P", "quantity": -1, "unit_price_cents": 100}],
    }
    poison = Envelope.new(ORDER_PLACED, data, source="tests")
    # WHEN it is published to the topic
    assert sandbox.publisher().publish([poison]).ok
    # THEN the inventory DLQ holds it after one receive, with the reason and the problem
    sandbox.wait(lambda: _in_dlq(sandbox, "sluice-inventory-dlq", poison))
    [letter] = _in_dlq(sandbox, "sluice-inventory-dlq", poison)
    attrs = letter["MessageAttributes"]
    assert attrs[REASON]["StringValue"] == "invalid_payload"
    assert "quantity" in attrs[DETAIL]["StringValue"]
    assert attrs[WORKER]["StringValue"] == "inventory"
    deliveries = sandbox.lines(correlation_id=poison.correlation_id, queue="sluice-inventory")
    assert [d["receive_count"] for d in deliveries] == [1]


def test_a_record_that_keeps_failing_is_redriven_after_max_receive_count(sandbox: Running) -> None:
    # GIVEN a worker whose downstream is down for this order (RetryableError every time)
    envelope = _order(f"never-{uuid.uuid4().hex[:8]}")
    # WHEN the record is sent to its queue
    assert sandbox.publisher("sluice-stubborn").publish([envelope]).ok
    # THEN it is delivered maxReceiveCount (3) times, then SQS's redrive moves it to the DLQ
    sandbox.wait(lambda: _in_dlq(sandbox, "sluice-stubborn-dlq", envelope), timeout_s=30)
    deliveries = sandbox.lines(correlation_id=envelope.correlation_id, queue="sluice-stubborn")
    assert [d["receive_count"] for d in deliveries] == [1, 2, 3]
    # AND every failed attempt logged why, so the reason travels with the dead letter
    failures = sandbox.lines(
        correlation_id=envelope.correlation_id, worker="stubborn", outcome="retry"
    )
    assert [f["reason"] for f in failures] == ["retryable"] * 3
    [letter] = _in_dlq(sandbox, "sluice-stubborn-dlq", envelope)
    assert int(letter["Attributes"]["ApproximateReceiveCount"]) >= 3


def test_only_the_failed_records_of_a_batch_are_retried(sandbox: Running) -> None:
    # GIVEN four records in one batch, two of which fail their first attempt
    envelopes = [_order(f"{kind}-{uuid.uuid4().hex[:8]}") for kind in ("ok", "fail", "ok", "fail")]
    # WHEN they are sent together (the worker's 1 s batching window gathers them)
    assert sandbox.publisher("sluice-picky").publish(envelopes).ok
    # THEN the successes are deleted after one delivery and only the failures come back
    for envelope in envelopes:
        cid = envelope.correlation_id
        sandbox.wait(lambda c=cid: sandbox.lines(correlation_id=c, worker="picky", outcome="done"))
    for envelope in envelopes:
        deliveries = sandbox.lines(correlation_id=envelope.correlation_id, queue="sluice-picky")
        expected = [1, 2] if envelope.data["order_id"].startswith("fail-") else [1]
        assert [d["receive_count"] for d in deliveries] == expected
    first = sandbox.lines(worker="picky", message="invocation end", records=4, failed=2)
    assert first, "the four records were not delivered as one batch"


@contextmanager
def _taken_back(
    sandbox: Running, dlq: str, body: str
) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The DLQ's messages with ``body``; deleted after, so no later test of the tier reads them."""

    def found() -> list[dict[str, Any]]:
        return [m for m in sandbox.messages(dlq) if m["Body"] == body]

    try:
        yield found
    finally:
        assert sandbox.box.clients is not None
        for message in found():
            sandbox.box.clients.sqs.delete_message(
                QueueUrl=sandbox.box.queue_url(dlq), ReceiptHandle=message["ReceiptHandle"]
            )


@pytest.mark.parametrize("bad", ["[" * 100_000, "9" * 5000], ids=["100 000 '['", "5000 digits"])
def test_a_body_no_parser_reads_is_dead_lettered_and_its_batch_neighbour_runs(
    sandbox: Running, bad: str
) -> None:
    # GIVEN a good order and a body json gives up on, sent to one queue in one call
    assert sandbox.box.clients is not None
    good = _order(f"ok-{uuid.uuid4().hex[:8]}")
    sent = sandbox.box.clients.sqs.send_message_batch(
        QueueUrl=sandbox.box.queue_url("sluice-picky"),
        Entries=[{"Id": "good", "MessageBody": good.to_json()}, {"Id": "bad", "MessageBody": bad}],
    )
    [bad_id] = [s["MessageId"] for s in sent["Successful"] if s["Id"] == "bad"]
    # WHEN the sandbox's poller delivers them (the worker's 1 s window batches them)
    # THEN the odd body is on the DLQ, as it came, with the engine's reason
    with _taken_back(sandbox, "sluice-picky-dlq", bad) as letters:
        sandbox.wait(letters)
        [letter] = letters()
    assert letter["MessageAttributes"][REASON]["StringValue"] == "malformed_json"
    # AND its neighbour ran in the same invocation, and the poller never failed
    sandbox.wait(lambda: sandbox.lines(correlation_id=good.correlation_id, outcome="done"))
    ends = sandbox.lines(worker="picky", message="invocation end", records=2, failed=0)
    assert [sorted(e["settled"]) for e in ends if good.correlation_id in e["settled"]] == [
        sorted([good.correlation_id, "-"])
    ]
    [delivered] = sandbox.lines(message="queue delivered", message_id=bad_id)
    assert delivered["correlation_id"] == "-"
    assert sandbox.lines(message="poller error") == []


def test_a_stream_failure_checkpoints_bisects_then_sends_the_on_failure_record(
    sandbox: Running,
) -> None:
    # GIVEN three orders written in one BatchWriteItem; the middle one breaks the stream worker
    assert sandbox.box.clients is not None
    customers = ["cust-s", "poison-stream", "cust-s"]
    ids = [f"ord-s-{uuid.uuid4().hex[:8]}" for _ in customers]
    items = [stored_order(oid, customer) for oid, customer in zip(ids, customers, strict=True)]
    table = sandbox.box.topology.table("orders")
    sandbox.box.clients.dynamodb.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": item}} for item in items]}
    )
    # THEN the healthy records are processed, the poison one alone is given up on
    failures = "sluice-fussy-stream-failures"
    sandbox.wait(lambda: sandbox.messages(failures), timeout_s=30)
    for oid in (ids[0], ids[2]):
        sandbox.wait(lambda o=oid: sandbox.lines(correlation_id=o, worker="fussy", outcome="done"))
    [checkpoint] = sandbox.lines(message="checkpoint", correlation_id=ids[1])
    assert sandbox.lines(message="bisect", worker="fussy")
    # AND, as Lambda does with an S3 destination, the whole invocation record is in the
    # failure bucket, announced on the failure queue
    [message] = sandbox.messages(failures)
    [announced] = json.loads(message["Body"])["Records"]
    bucket, key = announced["s3"]["bucket"]["name"], unquote_plus(announced["s3"]["object"]["key"])
    assert bucket == sandbox.box.provisioned.failure_buckets[failures]  # type: ignore[union-attr]
    s3 = sandbox.box.clients.client("s3")
    record = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert key.startswith("aws/lambda/") and f"/{record['DDBStreamBatchInfo']['shardId']}/" in key
    assert set(record) == {
        "requestContext",
        "responseContext",
        "version",
        "timestamp",
        "DDBStreamBatchInfo",
        "payload",
    }
    [failed] = json.loads(record["payload"])["Records"]
    assert failed["dynamodb"]["NewImage"]["id"]["S"] == ids[1]
    context, batch = record["requestContext"], record["DDBStreamBatchInfo"]
    assert context["condition"] == "RetryAttemptsExhausted"
    assert context["approximateInvokeCount"] == 3  # the first try and retry_attempts=2 retries
    assert context["functionArn"].endswith(":function:sluice-fussy")
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert batch["batchSize"] == 1
    assert batch["startSequenceNumber"] == batch["endSequenceNumber"]
    assert batch["startSequenceNumber"] == checkpoint["sequence_number"]
    assert batch["streamArn"] == sandbox.box.provisioned.stream_arns["orders"]  # type: ignore[union-attr]
    assert set(batch) >= {
        "shardId",
        "approximateArrivalOfFirstRecord",
        "approximateArrivalOfLastRecord",
    }
