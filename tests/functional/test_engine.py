"""The batch engine's contract with Lambda: partial failures, order, time, errors, logs."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest

from events import CATALOG, ORDER_PLACED, PAYMENT_CAPTURED
from sluice.core import Envelope
from sluice.runtime import (
    BatchFailedError,
    InvalidEventError,
    PermanentError,
    RetryableError,
    Source,
    Worker,
    worker,
)
from tests.conftest import Pipeline
from tests.factories import payment, placed, sample, sqs_event, sqs_record
from tests.functional.faults import CallFaults

QUEUE = "sluice-inventory"
DLQ = "sluice-inventory-dlq"


def wire(pipeline: Pipeline, declared: Worker) -> Worker:
    """A test-declared worker, wired to the pipeline's moto."""
    return declared.use(pipeline.deps(declared.spec.name))


def test_partial_failure_reports_exactly_the_failed_records(pipeline: Pipeline) -> None:
    # GIVEN a worker that fails one order of three
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="picky")
    def picky(event: Envelope[Any]) -> None:
        if event.data.order_id == "bad":
            raise RetryableError("not now")

    records = [sqs_record(placed(o), queue=QUEUE) for o in ("a", "bad", "c")]
    # WHEN the batch runs
    answer = wire(pipeline, picky).handler(sqs_event(*records), None)
    # THEN only that record is reported, by its messageId
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}


def test_every_record_of_a_queue_failing_is_answered_by_id_not_as_an_error(
    pipeline: Pipeline,
) -> None:
    # GIVEN a worker whose every record fails (a retry: a cancel before its order, say)
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="broken")
    def broken(event: Envelope[Any]) -> None:
        raise RuntimeError("database on fire")

    records = [sqs_record(placed(), queue=QUEUE) for _ in range(3)]
    # WHEN the batch runs THEN SQS retries each one, and Lambda counts no Error (no page)
    answer = wire(pipeline, broken).handler(sqs_event(*records), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}


def test_records_of_a_standard_queue_run_concurrently(pipeline: Pipeline) -> None:
    # GIVEN a barrier that opens only when 5 records are in flight at once
    barrier = threading.Barrier(5, timeout=10)

    # AND a worker this process has not run before: the engine keeps each worker's pace (how
    # long its records wait) for the life of the process, and runs a worker its earlier runs
    # measured as not waiting on one thread. A name shared by every run of this test (in one
    # process: a repeat, or mutmut's stats then clean pass) would read the last run's pace.
    @worker(
        catalog=CATALOG,
        subscribes=[ORDER_PLACED],
        name=f"parallel-{uuid.uuid4().hex[:8]}",
        max_concurrency=5,
    )
    def parallel(event: Envelope[Any]) -> None:
        barrier.wait()

    records = [sqs_record(placed(), queue=QUEUE) for _ in range(5)]
    # WHEN the batch runs THEN nobody times out at the barrier
    assert wire(pipeline, parallel).handler(sqs_event(*records), None) == {"batchItemFailures": []}


def test_fifo_failure_skips_the_rest_of_its_group_only(pipeline: Pipeline) -> None:
    seen: list[str] = []

    @worker(
        catalog=CATALOG,
        subscribes=[PAYMENT_CAPTURED],
        source=Source.FIFO_QUEUE,
        group_by="account_id",
        name="ordered",
        max_concurrency=1,
    )
    def ordered(event: Envelope[Any]) -> None:
        seen.append(event.data.payment_id)
        if event.data.payment_id == "a2":
            raise RetryableError("hiccup")

    a = [payment("A", 100, f"a{i}") for i in (1, 2, 3)]
    b = [payment("B", 100, f"b{i}") for i in (1, 2)]
    queue = "sluice-ledger.fifo"
    records = [sqs_record(e, queue=queue, group_id=e.data["account_id"]) for e in [*a, *b]]
    # records interleave the groups, as SQS may deliver them
    records = [records[0], records[3], records[1], records[4], records[2]]
    answer = wire(pipeline, ordered).handler(sqs_event(*records), None)
    assert seen == ["a1", "a2", "b1", "b2"]
    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    assert failed == [records[2]["messageId"], records[4]["messageId"]]  # a2 and a3


def test_permanent_error_goes_to_the_dlq_with_its_reason(pipeline: Pipeline) -> None:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="strict")
    def strict(event: Envelope[Any]) -> None:
        raise PermanentError("customer is blocked", reason="business_rule")

    event = placed("o-1")
    record = sqs_record(event, queue=QUEUE, receive_count=2)
    record["messageAttributes"] = {
        "event_type": {"stringValue": ORDER_PLACED, "dataType": "String"}
    }
    ok = sqs_record(placed(), queue=QUEUE)

    # a permanent failure is handled: it is not reported for retry
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="strict_some")
    def strict_some(e: Envelope[Any]) -> None:
        if e.id == event.id:
            strict.fn(e)

    assert wire(pipeline, strict_some).handler(sqs_event(record, ok), None) == {
        "batchItemFailures": []
    }
    [letter] = pipeline.drain(DLQ)
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert letter["Body"] == event.to_json()
    assert attrs["sluice.failure_reason"] == "business_rule"
    assert attrs["sluice.failure_detail"] == "customer is blocked"
    assert attrs["sluice.failed_worker"] == "strict_some"
    assert attrs["sluice.receive_count"] == "2"
    assert attrs["event_type"] == ORDER_PLACED  # the original attributes travel too
    # AND the worker's log says which message failed for good, and why
    lines = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    [failure] = [line for line in lines if line["message"] == "permanent failure"]
    assert (failure["reason"], failure["detail"], failure["message_id"]) == (
        "business_rule",
        "customer is blocked",
        record["messageId"],
    )


def test_too_little_time_left_leaves_records_unstarted(pipeline: Pipeline) -> None:
    # GIVEN a context whose remaining time drops below the margin after the first record
    class Context:
        remaining = [10_000, 10_000, 1_000, 1_000, 1_000, 1_000]

        def get_remaining_time_in_millis(self) -> int:
            return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]

    started: list[str] = []

    @worker(
        catalog=CATALOG,
        subscribes=[ORDER_PLACED],
        name="slow",
        max_concurrency=1,
        timeout_margin_s=3,
    )
    def slow(event: Envelope[Any]) -> None:
        started.append(event.data.order_id)

    records = [sqs_record(placed(o), queue=QUEUE) for o in ("first", "second", "third")]
    answer = wire(pipeline, slow).handler(sqs_event(*records), Context())
    assert started == ["first"]
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records[1:]]
    }


def _received(
    pipeline: Pipeline, event: Envelope[Any], receive_count: int = 1
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``event`` really on the queue and received; the visibility changes made from now on."""
    sqs = pipeline.clients.sqs
    url = pipeline.url(QUEUE)
    sqs.send_message(QueueUrl=url, MessageBody=event.to_json())
    message = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
    record = sqs_record(
        message["Body"],
        queue=QUEUE,
        receipt_handle=message["ReceiptHandle"],
        receive_count=receive_count,
    )
    calls: list[dict[str, Any]] = []
    sqs.meta.events.register(
        "provide-client-params.sqs.ChangeMessageVisibilityBatch",
        lambda params, **_: calls.append(params),
    )
    return record, calls


def _held_elsewhere(pipeline: Pipeline, key: str) -> None:
    """Another invocation holds a live claim on ``key`` for a minute more."""
    pipeline.clients.dynamodb.put_item(
        TableName="sluice-idempotency",
        Item={
            "id": {"S": key},
            "status": {"S": "IN_PROGRESS"},
            "in_progress_expiry": {"N": str(int(time.time() * 1000) + 60_000)},
            "expiration": {"N": str(int(time.time()) + 3600)},
        },
    )


def test_retries_back_off_by_receive_count(pipeline: Pipeline) -> None:
    # GIVEN a real message on the queue, received for the 3rd time
    record, calls = _received(pipeline, placed(), receive_count=3)

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="flaky", backoff_base_s=4)
    def flaky(event: Envelope[Any]) -> None:
        raise RetryableError("later")

    assert len(wire(pipeline, flaky).handler(sqs_event(record), None)["batchItemFailures"]) == 1
    # THEN its visibility is 2^(3-1) x 4 = 16 s, jittered into [8, 16]
    [entry] = calls[0]["Entries"]
    assert entry["ReceiptHandle"] == record["receiptHandle"]
    assert 8 <= entry["VisibilityTimeout"] <= 16


@pytest.mark.parametrize(
    ("receive_count", "low", "high"),
    [
        (1, 1, 2),  # a copy met while the holder works: the usual backoff, 2^0 x 2 jittered
        (3, 4, 8),
        (4, 59, 61),  # its next delivery is its last (max_receive_count 5): wait out the claim
    ],
)
def test_a_record_held_elsewhere_waits_out_the_claim_before_its_last_delivery(
    pipeline: Pipeline, receive_count: int, low: int, high: int
) -> None:
    # GIVEN a copy of an event whose claim another invocation holds for 60 s more (that
    # invocation may have crashed): backoff alone would spend the copy's receives while the
    # claim lives (1-2, 2-4, 4-8, 8-16 s), and SQS would dead-letter a healthy event
    order = placed()
    record, calls = _received(pipeline, order, receive_count=receive_count)

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="held", backoff_base_s=2)
    def held(event: Envelope[Any]) -> None:
        raise AssertionError("a held event must not run")

    _held_elsewhere(pipeline, f"held#{order.id}")
    answer = wire(pipeline, held).handler(sqs_event(record), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    # THEN early copies back off as usual; the last one stays away until the claim lapses
    [entry] = calls[0]["Entries"]
    assert low <= entry["VisibilityTimeout"] <= high


def test_a_copy_that_loses_the_claim_race_waits_out_the_holders_lease_not_its_own(
    pipeline: Pipeline,
) -> None:
    # finding 4 (and the mutation "the hold after a lost claim race set to 0"): the holder
    # claimed after this copy's precheck, and its lease runs 60 s, longer than the copy's
    # own 30 s timeout. On its last delivery before the redrive, the copy must stay away
    # until the holder's lease lapses, as the refused claim's answer says
    order = placed()
    record, calls = _received(pipeline, order, receive_count=4)

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="raced", backoff_base_s=2)
    def raced(event: Envelope[Any]) -> None:
        raise AssertionError("a held event must not run")

    CallFaults(pipeline.clients.dynamodb, "BatchGetItem", times=1000, code="AccessDenied")
    _held_elsewhere(pipeline, f"raced#{order.id}")
    answer = wire(pipeline, raced).handler(sqs_event(record), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    [entry] = calls[0]["Entries"]
    assert 59 <= entry["VisibilityTimeout"] <= 61


def test_correlation_ids_stay_with_their_records_across_threads(pipeline: Pipeline) -> None:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="chatty", max_concurrency=8)
    def chatty(event: Envelope[Any], deps: Any) -> None:
        deps.telemetry.logger.info("working", extra={"order_id": event.data.order_id})

    events = [placed(f"o{i}") for i in range(16)]
    wire(pipeline, chatty).handler(sqs_event(*(sqs_record(e, queue=QUEUE) for e in events)), None)
    lines = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    working = [line for line in lines if line["message"] == "working"]
    assert len(working) == 16
    by_order = {e.data["order_id"]: e for e in events}
    for line in working:
        expected = by_order[line["order_id"]]
        assert line["correlation_id"] == expected.correlation_id
        assert line["event_id"] == expected.id
        assert line["event_type"] == ORDER_PLACED


def test_stream_worker_checkpoints_at_the_first_failure(pipeline: Pipeline) -> None:
    seen: list[str] = []

    @worker(
        catalog=CATALOG, source=Source.STREAM, table="orders", name="streamer", idempotent=False
    )
    def streamer(event: Envelope[Any]) -> None:
        seen.append(event.data.sequence_number)
        if event.data.event_name == "MODIFY":
            raise RetryableError("cannot map yet")

    batch = {
        "Records": [sample(f"dynamodb_{n}")["Records"][0] for n in ("insert", "modify", "remove")]
    }
    answer = wire(pipeline, streamer).handler(batch, None)
    # THEN REMOVE (after the failure) never ran and is reported too: the shard resumes at MODIFY
    assert seen == ["111100000000000000000001", "111100000000000000000002"]
    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": "111100000000000000000002"},
            {"itemIdentifier": "111100000000000000000003"},
        ]
    }


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({"Records": []}, "empty batch"),
        ({"records": []}, "expects a Lambda batch event with a 'Records' list"),
        ("not an event", "got str"),
        (sample("dynamodb_insert"), "record 0 comes from 'aws:dynamodb'"),
        ({"Records": [{"eventSource": "aws:s3"}]}, "record 0 comes from 'aws:s3'"),
    ],
)
def test_invocations_that_are_not_our_batches_raise_before_touching_anything(
    pipeline: Pipeline, event: Any, fragment: str
) -> None:
    inventory = pipeline.worker("inventory")
    with pytest.raises(InvalidEventError) as caught:
        inventory.handler(event, None)
    assert fragment in str(caught.value)
    assert pipeline.drain(DLQ) == []


def test_a_fifo_record_held_elsewhere_blocks_the_rest_of_its_group(pipeline: Pipeline) -> None:
    # GIVEN the first payment of account A is in progress in another invocation
    seen: list[str] = []

    @worker(
        catalog=CATALOG,
        subscribes=[PAYMENT_CAPTURED],
        source=Source.FIFO_QUEUE,
        group_by="account_id",
        name="strict_order",
    )
    def strict_order(event: Envelope[Any]) -> None:
        seen.append(event.data.payment_id)

    a1, a2, b1 = payment("A", 1, "a1"), payment("A", 1, "a2"), payment("B", 1, "b1")
    _held_elsewhere(pipeline, f"strict_order#{a1.id}")
    queue = "sluice-ledger.fifo"
    records = [sqs_record(e, queue=queue, group_id=e.data["account_id"]) for e in (a1, a2, b1)]
    answer = wire(pipeline, strict_order).handler(sqs_event(*records), None)
    # THEN a2 does not overtake a1; B goes on
    assert seen == ["b1"]
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records[:2]]
    }


def test_an_undecodable_stream_record_blocks_the_records_behind_it(pipeline: Pipeline) -> None:
    seen: list[str] = []

    @worker(catalog=CATALOG, source=Source.STREAM, table="orders", name="careful", idempotent=False)
    def careful(event: Envelope[Any]) -> None:
        seen.append(event.data.event_name)

    insert, modify, remove = (
        sample(f"dynamodb_{n}")["Records"][0] for n in ("insert", "modify", "remove")
    )
    del modify["dynamodb"]["Keys"]
    answer = wire(pipeline, careful).handler({"Records": [insert, modify, remove]}, None)
    assert seen == ["INSERT"]
    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": "111100000000000000000002"},
            {"itemIdentifier": "111100000000000000000003"},
        ]
    }


def test_a_batch_stream_worker_never_sees_the_records_after_a_failure(
    pipeline: Pipeline,
) -> None:
    # catches: batch=True stream workers running records after a failure (the engine
    # skipping ordering.before_first_failure, or letting records past the first failure)
    seen: list[list[str]] = []

    @worker(
        catalog=CATALOG,
        source=Source.STREAM,
        table="orders",
        name="whole_batch",
        batch=True,
        idempotent=False,
    )
    def whole_batch(events: list[Envelope[Any]]) -> list[str]:
        seen.append([e.data.event_name for e in events])
        return []

    # GIVEN a batch whose middle record fails before running (it cannot be decoded)
    insert, modify, remove = (
        sample(f"dynamodb_{n}")["Records"][0] for n in ("insert", "modify", "remove")
    )
    del modify["dynamodb"]["Keys"]
    # WHEN the batch runs
    answer = wire(pipeline, whole_batch).handler({"Records": [insert, modify, remove]}, None)
    # THEN the function got only the record before it, and the shard resumes at the failure
    assert seen == [["INSERT"]]
    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": "111100000000000000000002"},
            {"itemIdentifier": "111100000000000000000003"},
        ]
    }


def _stream_batch() -> dict[str, Any]:
    return {
        "Records": [sample(f"dynamodb_{n}")["Records"][0] for n in ("insert", "modify", "remove")]
    }


def test_a_batch_function_that_raises_fails_every_record_it_was_given(pipeline: Pipeline) -> None:
    # catches: run_whole_batch's exception branch ending records with no outcome or reason
    @worker(catalog=CATALOG, source=Source.STREAM, table="orders", name="boom", batch=True)
    def boom(events: list[Envelope[Any]]) -> list[str]:
        raise RuntimeError("downstream is down")

    with pytest.raises(BatchFailedError, match=r"all 3 records .*\(unhandled_exception\)"):
        wire(pipeline, boom).handler(_stream_batch(), None)


def test_records_a_batch_function_reports_failed_are_retried_as_such(pipeline: Pipeline) -> None:
    # catches: run_whole_batch ending the records it reported with another reason
    @worker(catalog=CATALOG, source=Source.STREAM, table="orders", name="refuser", batch=True)
    def refuser(events: list[Envelope[Any]]) -> list[str]:
        return [e.id for e in events]

    with pytest.raises(BatchFailedError, match=r"all 3 records .*\(batch_item_failed\)"):
        wire(pipeline, refuser).handler(_stream_batch(), None)


def test_a_batch_worker_with_too_little_time_starts_nothing(pipeline: Pipeline) -> None:
    # catches: run_whole_batch's time check ending records with no outcome or reason
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 1_000

    called: list[int] = []

    @worker(
        catalog=CATALOG,
        source=Source.STREAM,
        table="orders",
        name="late",
        batch=True,
        timeout_margin_s=3,
    )
    def late(events: list[Envelope[Any]]) -> list[str]:
        called.append(len(events))
        return []

    with pytest.raises(BatchFailedError, match=r"all 3 records .*\(timeout_margin\)"):
        wire(pipeline, late).handler(_stream_batch(), Context())
    assert called == []


def test_a_batch_queue_worker_gets_each_envelope_once(pipeline: Pipeline) -> None:
    # catches: run_whole_batch also passing the later copies of an envelope in the batch
    seen: list[list[str]] = []

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="bulk", batch=True)
    def bulk(events: list[Envelope[Any]]) -> list[str]:
        seen.append([e.id for e in events])
        return []

    twice, once = placed(), placed()
    records = [sqs_record(e, queue=QUEUE) for e in (twice, once, twice)]
    assert wire(pipeline, bulk).handler(sqs_event(*records), None) == {"batchItemFailures": []}
    assert seen == [[twice.id, once.id]]
