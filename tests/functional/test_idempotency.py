"""Exactly-once effects: duplicates in a batch, across batches, and in flight."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from events import CATALOG, ORDER_PLACED
from sluice.core import Envelope
from sluice.runtime import worker
from sluice.runtime.engine.prechecks import copies_of
from tests.conftest import Pipeline
from tests.factories import cancelled, placed, sns_wrapped, sqs_event, sqs_record
from workers.inventory import adjust_stock

QUEUE = "sluice-inventory"


def test_duplicates_in_one_batch_and_across_batches_take_effect_once(pipeline: Pipeline) -> None:
    # GIVEN one order delivered three times under three message ids (as SNS may do)
    inventory = pipeline.worker("inventory")
    order = placed("ord-1", sku="MUG", quantity=2)
    first = sqs_event(sqs_record(order, queue=QUEUE), sqs_record(order, queue=QUEUE))
    later = sqs_event(sqs_record(sns_wrapped(order), queue=QUEUE))
    # WHEN both batches run
    assert inventory.handler(first, None) == {"batchItemFailures": []}
    assert inventory.handler(later, None) == {"batchItemFailures": []}
    # THEN stock moved once
    assert pipeline.stock("MUG") == {"reserved": 2, "reservations": 1}


def test_each_subscriber_applies_an_event_once_on_its_own(pipeline: Pipeline) -> None:
    order = placed("ord-2", sku="CAP")
    pipeline.worker("inventory").handler(sqs_event(sqs_record(order, queue=QUEUE)), None)
    receipts = pipeline.worker("receipts")
    receipts.handler(sqs_event(sqs_record(order, queue="sluice-receipts")), None)
    keys = {
        i["id"]["S"]
        for i in pipeline.clients.dynamodb.scan(TableName="sluice-idempotency")["Items"]
    }
    assert keys == {f"inventory#{order.id}", f"receipts#{order.id}"}


def test_a_duplicate_still_in_progress_is_retried_not_run(pipeline: Pipeline) -> None:
    # GIVEN another invocation holds a live claim on the event
    calls: list[str] = []

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="claimed")
    def claimed(event: Envelope[Any]) -> None:
        calls.append(event.id)

    order = placed()
    _claim(pipeline, f"claimed#{order.id}", until_ms=int(time.time() * 1000) + 60_000)
    record = sqs_record(order, queue=QUEUE)
    other = sqs_record(placed(), queue=QUEUE)
    answer = claimed.use(pipeline.deps("claimed")).handler(sqs_event(record, other), None)
    # THEN it is reported failed (retry later) and the function never saw it
    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert order.id not in calls


def test_an_expired_claim_is_taken_over(pipeline: Pipeline) -> None:
    # GIVEN a claim whose invocation died (its in-progress expiry has passed)
    order = placed("ord-3", sku="PEN")
    _claim(pipeline, f"inventory#{order.id}", until_ms=int(time.time() * 1000) - 1)
    answer = pipeline.worker("inventory").handler(sqs_event(sqs_record(order, queue=QUEUE)), None)
    assert answer == {"batchItemFailures": []}
    assert pipeline.stock("PEN") == {"reserved": 1, "reservations": 1}


def test_a_failed_record_releases_its_claim_so_the_retry_can_run(pipeline: Pipeline) -> None:
    # GIVEN a cancel that overtook its order (inventory retries it)
    inventory = pipeline.worker("inventory")
    order = placed("ord-4", sku="BAG")
    cancel = cancelled("ord-4", sku="BAG")
    other = sqs_record(placed(sku="X"), queue=QUEUE)
    early = sqs_record(cancel, queue=QUEUE)
    assert inventory.handler(sqs_event(early, other), None) == {
        "batchItemFailures": [{"itemIdentifier": early["messageId"]}]
    }
    # WHEN the order lands and the cancel comes back
    inventory.handler(sqs_event(sqs_record(order, queue=QUEUE)), None)
    inventory.handler(sqs_event(sqs_record(cancel, queue=QUEUE, receive_count=2)), None)
    # THEN both applied once
    assert pipeline.stock("BAG") == {"reserved": 0, "reservations": 1, "releases": 1}


def _operations(pipeline: Pipeline) -> list[str]:
    """The DynamoDB operations called from now on."""
    calls: list[str] = []
    pipeline.clients.dynamodb.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    return calls


def test_copies_after_a_quiet_spell_cost_one_refused_transaction_each_and_no_effect(
    pipeline: Pipeline,
) -> None:
    # GIVEN the inventory worker (transact_only: no claim) has only ever seen new events
    inventory = pipeline.worker("inventory")
    orders = [placed(sku="INK") for _ in range(10)]
    inventory.handler(sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders)), None)
    calls = _operations(pipeline)
    # WHEN the same events come back under new message ids
    replay = sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders))
    assert inventory.handler(replay, None) == {"batchItemFailures": []}
    # THEN no precheck was paid for, each copy's one transaction was refused, stock moved once
    assert calls == ["TransactWriteItems"] * 10
    assert pipeline.stock("INK") == {"reserved": 10, "reservations": 10}


def test_once_copies_arrive_a_batch_of_duplicates_costs_one_read_and_no_write(
    pipeline: Pipeline,
) -> None:
    inventory = pipeline.worker("inventory")
    orders = [placed(sku="INK") for _ in range(10)]
    inventory.handler(sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders)), None)
    inventory.handler(sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders)), None)
    calls = _operations(pipeline)
    replay = sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders))
    assert inventory.handler(replay, None) == {"batchItemFailures": []}
    assert calls == ["BatchGetItem"]
    assert pipeline.stock("INK")["reserved"] == 10


def test_new_events_of_a_transact_only_worker_cost_one_transaction_each(
    pipeline: Pipeline,
) -> None:
    # catches: a claim or a precheck written for a worker whose only effect is transact()
    calls = _operations(pipeline)
    orders = [placed(sku="NIB") for _ in range(3)]
    batch = sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders))
    assert pipeline.worker("inventory").handler(batch, None) == {"batchItemFailures": []}
    assert calls == ["TransactWriteItems"] * 3
    assert pipeline.stock("NIB") == {"reserved": 3, "reservations": 3}


def _requests_naming(pipeline: Pipeline) -> list[tuple[str, str]]:
    """Every DynamoDB request from now on, as (operation, its parameters as JSON)."""
    calls: list[tuple[str, str]] = []
    pipeline.clients.dynamodb.meta.events.register(
        "provide-client-params.dynamodb.*",
        lambda params, model, **_: calls.append((model.name, json.dumps(params, default=str))),
    )
    return calls


def _plain(name: str, runs: list[str]) -> Any:
    """A worker with no transactional effect, one record at a time (deterministic order)."""

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name=name, max_concurrency=1)
    def plain(event: Envelope[Any]) -> None:
        runs.append(event.id)

    return plain


def test_the_precheck_alone_makes_a_completed_event_a_duplicate(pipeline: Pipeline) -> None:
    # catches: the precheck never marks duplicates (Lifecycle.precheck ignoring what
    # IdempotencyStore.lookup found). The per-record claim would refuse the copy too, so
    # the proof is that nothing but the BatchGetItem ever names the completed event's key.
    runs: list[str] = []
    worker_ = _plain("prechecked", runs).use(pipeline.deps("prechecked"))
    copies_of("prechecked").share = 1.0  # copies have been arriving: the batch is prechecked
    done, new = placed(), placed()
    assert worker_.handler(sqs_event(sqs_record(done, queue=QUEUE)), None) == {
        "batchItemFailures": []
    }
    calls = _requests_naming(pipeline)
    # WHEN the completed event comes back in a batch with a new one
    batch = sqs_event(sqs_record(done, queue=QUEUE), sqs_record(new, queue=QUEUE))
    assert worker_.handler(batch, None) == {"batchItemFailures": []}
    # THEN only the new one ran, and the copy cost a read in the one BatchGetItem, no write
    assert runs == [done.id, new.id]
    assert [op for op, params in calls if f"prechecked#{done.id}" in params] == ["BatchGetItem"]
    assert [op for op, _ in calls] == ["BatchGetItem", "PutItem", "PutItem"]  # claim, complete


def test_the_precheck_alone_retries_an_event_held_elsewhere(pipeline: Pipeline) -> None:
    # catches: the precheck ignoring a live claim it found (the IN_PROGRESS verdict): the
    # record would then try a claim of its own, a conditional write the precheck saves
    runs: list[str] = []
    worker_ = _plain("held", runs).use(pipeline.deps("held"))
    copies_of("held").share = 1.0
    busy, new = placed(), placed()
    _claim(pipeline, f"held#{busy.id}", until_ms=int(time.time() * 1000) + 60_000)
    calls = _requests_naming(pipeline)
    busy_record = sqs_record(busy, queue=QUEUE)
    answer = worker_.handler(sqs_event(busy_record, sqs_record(new, queue=QUEUE)), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": busy_record["messageId"]}]}
    assert runs == [new.id]
    assert [op for op, params in calls if f"held#{busy.id}" in params] == ["BatchGetItem"]


def _claim(pipeline: Pipeline, key: str, *, until_ms: int) -> None:
    pipeline.clients.dynamodb.put_item(
        TableName="sluice-idempotency",
        Item={
            "id": {"S": key},
            "status": {"S": "IN_PROGRESS"},
            "in_progress_expiry": {"N": str(until_ms)},
            "expiration": {"N": str(int(time.time()) + 3600)},
        },
    )


class ShortContext:
    """A Lambda context with little time left, so claims expire quickly."""

    def get_remaining_time_in_millis(self) -> int:
        return 1500


def test_a_crash_mid_batch_doubles_no_effect(pipeline: Pipeline) -> None:
    # GIVEN a worker whose invocation dies at the third record, after two effects committed
    crash_at = {"ord-3"}

    @worker(
        catalog=CATALOG,
        subscribes=[ORDER_PLACED],
        name="fragile",
        max_concurrency=1,
        timeout_margin_s=0.5,
    )
    def fragile(event: Envelope[Any], deps: Any) -> None:
        if event.data.order_id in crash_at:
            raise KeyboardInterrupt  # not an Exception: it escapes like a dying process
        adjust_stock(deps.transact, "sluice-state", event.data.items, release=False)

    worker_ = fragile.use(pipeline.deps("fragile"))
    orders = [placed(f"ord-{i}", sku="LAMP") for i in range(1, 6)]
    batch = sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders))
    with pytest.raises(KeyboardInterrupt):
        worker_.handler(batch, ShortContext())
    assert pipeline.stock("LAMP")["reserved"] == 2
    # WHEN the whole batch is delivered again once the dead invocation's claim has expired
    crash_at.clear()
    time.sleep(1.6)
    again = sqs_event(*(sqs_record(o, queue=QUEUE, receive_count=2) for o in orders))
    assert worker_.handler(again, ShortContext()) == {"batchItemFailures": []}
    # THEN every order reserved stock exactly once
    assert pipeline.stock("LAMP") == {"reserved": 5, "reservations": 5}


def test_an_error_after_the_effect_committed_does_not_release_the_claim(
    pipeline: Pipeline,
) -> None:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="late_error")
    def late_error(event: Envelope[Any], deps: Any) -> None:
        adjust_stock(deps.transact, "sluice-state", event.data.items, release=False)
        raise RuntimeError("notification service down")  # after the effect

    worker_ = late_error.use(pipeline.deps("late_error"))
    order = placed("ord-x", sku="DESK")
    other = placed("ord-y", sku="CHAIR")
    batch = sqs_event(sqs_record(order, queue=QUEUE), sqs_record(other, queue=QUEUE))
    assert len(worker_.handler(batch, None)["batchItemFailures"]) == 2
    # the retry finds both completed: no second effect
    assert worker_.handler(batch, None) == {"batchItemFailures": []}
    assert pipeline.stock("DESK") == {"reserved": 1, "reservations": 1}


def test_a_completion_that_failed_is_written_when_the_batch_settles(pipeline: Pipeline) -> None:
    # catches: Lifecycle._complete not flagging the record unsettled, so a completion that
    # failed is never retried and a redelivery after the claim expires runs the effect again
    runs: list[str] = []
    worker_ = _plain("settles", runs).use(pipeline.deps("settles"))
    order = placed()

    refused: list[str] = []

    def refuse_completion(params: dict[str, Any], **_: Any) -> None:
        # the record's own completion fails once; settling writes it again (one PutItem)
        if params["Item"]["status"]["S"] == "COMPLETED" and not refused:
            refused.append(params["Item"]["id"]["S"])
            raise RuntimeError("completion refused (injected)")

    events = pipeline.clients.dynamodb.meta.events
    events.register("provide-client-params.dynamodb.PutItem", refuse_completion)
    assert worker_.handler(sqs_event(sqs_record(order, queue=QUEUE)), None) == {
        "batchItemFailures": []
    }
    events.unregister("provide-client-params.dynamodb.PutItem", refuse_completion)
    assert refused == [f"settles#{order.id}"]
    item = pipeline.clients.dynamodb.get_item(
        TableName="sluice-idempotency", Key={"id": {"S": f"settles#{order.id}"}}
    )["Item"]
    assert item["status"]["S"] == "COMPLETED"
