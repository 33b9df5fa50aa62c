"""What a record's lifecycle tells the outside when idempotency gets in its way: the log lines
an operator reads, the reasons a stream's failed batch names, and the records held by another
invocation that keep the adaptive precheck on (``engine.lifecycle``, ``engine.prechecks``).
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

import pytest

from events import CATALOG, ORDER_PLACED
from sluice.core import Envelope
from sluice.runtime import (
    BatchFailedError,
    ConfigurationError,
    Deps,
    RetryableError,
    Source,
    worker,
)
from sluice.runtime.idempotency import Claim, Held
from tests.conftest import Pipeline
from tests.factories import placed, sample, sqs_event, sqs_record
from tests.functional.faults import CallFaults
from tests.functional.test_claims import HOUR_MS, QUEUE, _now_ms, _store
from tests.functional.test_engine import _held_elsewhere, _received, wire
from tests.functional.test_leases import _lose_the_lease_while_running
from tests.functional.test_transact_only import _operations


def _lines(pipeline: Pipeline, message: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    return [line for line in lines if line["message"] == message]


def _claiming(name: str, runs: list[str]) -> Any:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name=name, max_concurrency=1)
    def claiming(event: Envelope[Any]) -> None:
        runs.append(event.id)

    return claiming


def _prechecking(pipeline: Pipeline, name: str, runs: list[str]) -> Any:
    """A claiming worker that has met a batch of copies: its next batch is prechecked."""
    wired = _claiming(name, runs).use(pipeline.deps(name))
    seen = placed()
    wired.handler(sqs_event(sqs_record(seen, queue=QUEUE)), None)
    wired.handler(sqs_event(sqs_record(seen, queue=QUEUE)), None)  # a refused claim
    runs.clear()
    return wired


def _lapsed_claim(pipeline: Pipeline, key: str) -> None:
    """A holder that died a minute ago left its claim behind."""
    pipeline.clients.dynamodb.put_item(
        TableName=pipeline.topology.table("idempotency"),
        Item={
            "id": {"S": key},
            "status": {"S": "IN_PROGRESS"},
            "in_progress_expiry": {"N": str(int(time.time() * 1000) - 60_000)},
            "expiration": {"N": str(int(time.time()) + 3600)},
        },
    )


def test_records_held_elsewhere_turn_the_precheck_on_and_keep_it_on(pipeline: Pipeline) -> None:
    # GIVEN three events another invocation holds, the last on its next-to-last delivery
    runs: list[str] = []
    wired = _claiming("held_on", runs).use(pipeline.deps("held_on"))
    orders = [placed(), placed()]
    last, visibility = _received(pipeline, placed(), receive_count=4)
    records = [*(sqs_record(o, queue=QUEUE) for o in orders), last]
    for record in records:
        _held_elsewhere(pipeline, f"held_on#{json.loads(record['body'])['id']}")
    calls = _operations(pipeline)
    # WHEN they come while nothing is known: three refused claims, counted as copies
    assert len(wired.handler(sqs_event(*records), None)["batchItemFailures"]) == 3
    assert calls == ["PutItem"] * 3
    # THEN the next batch is prechecked: one read, and every record waits for its holder
    calls.clear()
    visibility.clear()
    assert len(wired.handler(sqs_event(*records), None)["batchItemFailures"]) == 3
    assert calls == ["BatchGetItem"]
    [entry] = [e for e in visibility[0]["Entries"] if e["ReceiptHandle"] == last["receiptHandle"]]
    assert 59 <= entry["VisibilityTimeout"] <= 61  # its last delivery waits out the holder
    # AND the records the precheck found held count as copies too: it stays on
    calls.clear()
    wired.handler(sqs_event(*records), None)
    assert calls == ["BatchGetItem"]
    assert runs == []


def test_a_lapsed_claim_the_precheck_finds_is_taken_over_and_run(pipeline: Pipeline) -> None:
    runs: list[str] = []
    wired = _prechecking(pipeline, "lapsed_pre", runs)
    order = placed()
    _lapsed_claim(pipeline, f"lapsed_pre#{order.id}")
    calls = _operations(pipeline)
    assert wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None) == {
        "batchItemFailures": []
    }
    assert calls[0] == "BatchGetItem"
    assert runs == [order.id]


def test_a_precheck_that_fails_is_logged_and_every_record_is_claimed(pipeline: Pipeline) -> None:
    runs: list[str] = []
    wired = _prechecking(pipeline, "blind", runs)
    CallFaults(pipeline.clients.dynamodb, "BatchGetItem", times=1, code="InternalServerError")
    order = placed()
    assert wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None) == {
        "batchItemFailures": []
    }
    assert runs == [order.id]
    [warning] = _lines(pipeline, "idempotency precheck failed; claiming record by record")
    assert warning["level"] == "WARNING"
    assert "InternalServerError" in warning["exception"]


def test_a_completion_that_fails_is_logged_with_its_cause(pipeline: Pipeline) -> None:
    runs: list[str] = []
    wired = _claiming("unmarked", runs).use(pipeline.deps("unmarked"))
    # the claim's PutItem passes, the completion's fails (settling writes it later)
    CallFaults(pipeline.clients.dynamodb, "PutItem", times=1, after=1, code="InternalServerError")
    order = placed()
    assert wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None) == {
        "batchItemFailures": []
    }
    [warning] = _lines(pipeline, "could not mark the record complete yet")
    assert warning["level"] == "WARNING"
    assert "InternalServerError" in warning["exception"]


def _no_effect(name: str, runs: list[str]) -> Any:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name=name, transact_only=True)
    def nothing(event: Envelope[Any], deps: Deps) -> None:
        runs.append(event.id)

    return nothing


def test_a_transact_only_completion_that_cannot_be_written_is_logged_and_says_why(
    pipeline: Pipeline,
) -> None:
    wired = _no_effect("noop_unwritten", []).use(pipeline.deps("noop_unwritten"))
    CallFaults(pipeline.clients.dynamodb, "PutItem", times=1, code="InternalServerError")
    record = sqs_record(placed(), queue=QUEUE)
    assert len(wired.handler(sqs_event(record), None)["batchItemFailures"]) == 1
    [warning] = _lines(pipeline, "could not mark the record complete")
    assert warning["level"] == "WARNING"
    assert "InternalServerError" in warning["exception"]
    [finished] = _lines(pipeline, "record finished")
    assert (finished["outcome"], finished["reason"]) == ("retry", "idempotency_unavailable")


def test_a_copy_of_a_transact_only_event_without_an_effect_finishes_as_a_duplicate(
    pipeline: Pipeline,
) -> None:
    runs: list[str] = []
    wired = _no_effect("noop_twice", runs).use(pipeline.deps("noop_twice"))
    order = placed()
    for _ in range(2):
        wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None)
    outcomes = [line["outcome"] for line in _lines(pipeline, "record finished")]
    assert outcomes == ["done", "duplicate"]
    assert runs == [order.id, order.id]


def test_a_stream_batch_whose_claims_cannot_be_written_names_the_idempotency_store(
    pipeline: Pipeline,
) -> None:
    runs: list[str] = []

    @worker(catalog=CATALOG, source=Source.STREAM, table="orders", name="claims_down")
    def claims_down(event: Envelope[Any]) -> None:
        runs.append(event.id)

    CallFaults(pipeline.clients.dynamodb, "PutItem", times=1, code="InternalServerError")
    insert = sample("dynamodb_insert")["Records"][0]
    with pytest.raises(BatchFailedError, match=r"all 1 records .*\(idempotency_unavailable\)"):
        wire(pipeline, claims_down).handler({"Records": [insert]}, None)
    assert runs == []
    [warning] = _lines(pipeline, "could not claim the record; it will be retried")
    assert (warning["level"], warning["reason"]) == ("WARNING", "idempotency_unavailable")
    assert warning["message_id"] == insert["dynamodb"]["SequenceNumber"]  # its item id
    assert "InternalServerError" in warning["exception"]


def test_a_copy_whose_claim_finds_the_event_completed_is_logged_as_a_duplicate(
    pipeline: Pipeline,
) -> None:
    runs: list[str] = []
    wired = _claiming("claimed_twice", runs).use(pipeline.deps("claimed_twice"))
    order = placed()
    for _ in range(2):  # the copy's claim is refused: nothing known yet, so no precheck
        wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None)
    [duplicate] = _lines(pipeline, "record duplicate")
    assert (duplicate["level"], duplicate["outcome"]) == ("INFO", "duplicate")
    assert runs == [order.id]


def test_a_batch_function_that_raises_is_logged_as_an_error_with_its_traceback(
    pipeline: Pipeline,
) -> None:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="batch_boom", batch=True)
    def batch_boom(events: list[Envelope[Any]]) -> list[str]:
        raise RuntimeError("downstream is down")

    records = [sqs_record(placed(), queue=QUEUE) for _ in range(2)]
    answer = wire(pipeline, batch_boom).handler(sqs_event(*records), None)
    assert len(answer["batchItemFailures"]) == 2
    [error] = _lines(pipeline, "batch function raised; every record will be retried")
    assert error["level"] == "ERROR"
    assert "downstream is down" in error["exception"]


def test_a_live_claim_is_what_the_precheck_reads_back(pipeline: Pipeline) -> None:
    # the claim's expiry is whole epoch seconds, as DynamoDB's TTL and the precheck read it
    store = _store(pipeline)
    until = _now_ms() + HOUR_MS
    assert store.claim("w#read", "me", until).claim is Claim.CLAIMED
    seen = store.lookup(["w#read"])["w#read"]
    assert (seen.claim(_now_ms()), seen.in_progress_expiry_ms) == (Claim.IN_PROGRESS, until)


def test_a_transaction_refused_as_done_elsewhere_under_sluice_work_lets_its_lease_go(
    pipeline: Pipeline,
) -> None:
    # GIVEN a worker whose event a copy completes while it runs, under a context that keeps
    # the leases to renew (`sluice work`'s)
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="beaten")
    def beaten(event: Envelope[Any], deps: Deps) -> None:
        key = f"beaten#{event.id}"
        _lose_the_lease_while_running(pipeline, key)
        assert _store(pipeline).complete(key, "copy") is Held.HELD  # the copy finished first
        deps.transact([_put(pipeline, event.id)])

    context = SimpleNamespace(sluice_claims={}, get_remaining_time_in_millis=lambda: 60_000)
    # WHEN its transaction is refused
    answer = beaten.use(pipeline.deps("beaten")).handler(
        sqs_event(sqs_record(placed(), queue=QUEUE)), context
    )
    # THEN the record is a duplicate, and its lease is no longer one to renew
    assert answer == {"batchItemFailures": []}
    assert context.sluice_claims == {}
    [finished] = _lines(pipeline, "record finished")
    assert finished["outcome"] == "duplicate"


def _put(pipeline: Pipeline, event_id: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": pipeline.topology.table("state"),
            "Item": {"pk": {"S": f"effect#{event_id}"}, "sk": {"S": "-"}},
        }
    }


def test_a_misconfigured_worker_is_logged_as_such_and_its_record_retried(
    pipeline: Pipeline,
) -> None:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="misconfigured")
    def misconfigured(event: Envelope[Any]) -> None:
        raise ConfigurationError("no table named 'ledger' in this deployment")

    record = sqs_record(placed(), queue=QUEUE)
    answer = wire(pipeline, misconfigured).handler(sqs_event(record), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    [error] = _lines(pipeline, "worker misconfigured")
    assert (error["level"], error["detail"]) == (
        "ERROR",
        "no table named 'ledger' in this deployment",
    )
    [finished] = _lines(pipeline, "record finished")
    assert (finished["outcome"], finished["reason"]) == ("retry", "configuration")


@pytest.mark.parametrize(
    ("raised", "reason"),
    [(RetryableError("later"), "retryable"), (KeyError("sku"), "unhandled_exception")],
)
def test_a_failed_record_is_logged_with_its_traceback_and_delivery_count(
    pipeline: Pipeline, raised: Exception, reason: str
) -> None:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="failing")
    def failing(event: Envelope[Any]) -> None:
        raise raised

    record = sqs_record(placed(), queue=QUEUE, receive_count=3)
    assert len(wire(pipeline, failing).handler(sqs_event(record), None)["batchItemFailures"]) == 1
    [warning] = _lines(pipeline, "record failed; it will be retried")
    assert (warning["level"], warning["receive_count"]) == ("WARNING", 3)
    assert type(raised).__name__ in warning["exception"]
    [finished] = _lines(pipeline, "record finished")
    assert (finished["outcome"], finished["reason"]) == ("retry", reason)


def test_a_stream_batch_with_too_little_time_left_names_the_margin(pipeline: Pipeline) -> None:
    started: list[str] = []

    @worker(
        catalog=CATALOG, source=Source.STREAM, table="orders", name="hurried", timeout_margin_s=3
    )
    def hurried(event: Envelope[Any]) -> None:
        started.append(event.id)

    context = SimpleNamespace(get_remaining_time_in_millis=lambda: 1_000)
    insert = sample("dynamodb_insert")["Records"][0]
    with pytest.raises(BatchFailedError, match=r"all 1 records .*\(timeout_margin\)"):
        wire(pipeline, hurried).handler({"Records": [insert]}, context)
    assert started == []
