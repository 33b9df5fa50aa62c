"""``transact_only`` workers: no claim, the completion folded into the effect's transaction.

The inventory worker is one (its only effect is ``deps.transact``). Each test names the
guarantee it keeps, or the mutation it catches, of ``first_completion``/``complete_first``
(idempotency), ``Effects.transact`` without an owner, and ``Lifecycle._complete_first``;
and of the adaptive precheck (``engine.prechecks``) as the engine uses it.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from events import CATALOG, ORDER_PLACED
from sluice.core import Envelope
from sluice.runtime import Deps, worker
from sluice.runtime.effects import AlreadyAppliedError, Effects, HeldElsewhereError
from sluice.runtime.errors import ConfigurationError
from sluice.runtime.idempotency import COMPLETED, Claim
from tests.conftest import Pipeline
from tests.factories import placed, sqs_event, sqs_record
from tests.functional.faults import CallFaults
from tests.functional.test_claims import HOUR_MS, QUEUE, _now_ms, _store
from tests.functional.test_engine import _held_elsewhere, _received
from workers.inventory import adjust_stock


def _operations(pipeline: Pipeline) -> list[str]:
    calls: list[str] = []
    pipeline.clients.dynamodb.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    return calls


def _status(pipeline: Pipeline, key: str) -> str | None:
    item = pipeline.clients.dynamodb.get_item(
        TableName=pipeline.topology.table("idempotency"), Key={"id": {"S": key}}
    ).get("Item")
    return item["status"]["S"] if item else None


def _reserve(pipeline: Pipeline, sku: str) -> list[dict[str, Any]]:
    """One stock update, as a transaction item."""
    return [
        {
            "Update": {
                "TableName": pipeline.topology.table("state"),
                "Key": {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "STOCK"}},
                "UpdateExpression": "ADD reserved :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]


# --- the store: a completion that takes the event if it is free --------------------------


def test_a_first_completion_completes_a_new_event_once(pipeline: Pipeline) -> None:
    # catches: a condition that is always true (the second would complete it again)
    store = _store(pipeline)
    assert store.complete_first("w#new").claim is Claim.CLAIMED
    assert _status(pipeline, "w#new") == COMPLETED
    assert store.complete_first("w#new").claim is Claim.DUPLICATE


def test_a_first_completion_is_refused_by_a_live_claim_and_says_until_when(
    pipeline: Pipeline,
) -> None:
    store = _store(pipeline)
    until = _now_ms() + HOUR_MS
    assert store.claim("w#held", "holder", until).claim is Claim.CLAIMED
    verdict = store.complete_first("w#held")
    assert (verdict.claim, verdict.held_until_ms) == (Claim.IN_PROGRESS, until)


def test_a_first_completion_takes_over_a_lapsed_claim(pipeline: Pipeline) -> None:
    # catches: comparing the lease's expiry the wrong way round
    store = _store(pipeline)
    assert store.claim("w#lapsed", "dead", _now_ms() - 1000).claim is Claim.CLAIMED
    assert store.complete_first("w#lapsed").claim is Claim.CLAIMED
    assert _status(pipeline, "w#lapsed") == COMPLETED


def _effects(pipeline: Pipeline, key: str) -> Effects:
    return Effects(pipeline.clients.dynamodb, _store(pipeline), key)


def test_a_folded_transaction_commits_the_effect_and_the_completion_together(
    pipeline: Pipeline,
) -> None:
    effects = _effects(pipeline, "w#fold")
    effects.transact(_reserve(pipeline, "FOLD"))
    assert effects.committed
    assert _status(pipeline, "w#fold") == COMPLETED
    assert pipeline.stock("FOLD") == {"reserved": 1}


def test_a_copys_folded_transaction_is_refused_and_has_no_effect(pipeline: Pipeline) -> None:
    _effects(pipeline, "w#twice").transact(_reserve(pipeline, "TWICE"))
    copy = _effects(pipeline, "w#twice")
    with pytest.raises(AlreadyAppliedError):
        copy.transact(_reserve(pipeline, "TWICE"))
    assert not copy.committed
    assert pipeline.stock("TWICE") == {"reserved": 1}


def test_a_folded_transaction_meeting_a_live_claim_is_held_elsewhere_not_a_lost_lease(
    pipeline: Pipeline,
) -> None:
    # a claiming version of the worker still runs the event (a deploy that turned
    # transact_only on): the copy must wait for that holder, and say until when
    until = _now_ms() + HOUR_MS
    assert _store(pipeline).claim("w#busy", "old", until).claim is Claim.CLAIMED
    with pytest.raises(HeldElsewhereError) as refused:
        _effects(pipeline, "w#busy").transact(_reserve(pipeline, "BUSY"))
    assert refused.value.until_ms == until
    assert pipeline.stock("BUSY") == {}


# --- the engine ---------------------------------------------------------------------------


def _counting(name: str, runs: list[str], *, effect: bool = True, **settings: Any) -> Any:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name=name, transact_only=True, **settings)
    def counted(event: Envelope[Any], deps: Deps) -> None:
        runs.append(event.id)
        if effect:
            adjust_stock(deps.transact, "sluice-state", event.data.items, release=False)

    return counted


def test_transact_only_needs_idempotency() -> None:
    with pytest.raises(ConfigurationError, match=r"transact_only=True .* needs idempotent=True"):
        _counting("careless", [], idempotent=False)


def test_a_transact_only_function_without_an_effect_is_completed_by_one_write(
    pipeline: Pipeline,
) -> None:
    runs: list[str] = []
    wired = _counting("noop", runs, effect=False).use(pipeline.deps("noop"))
    order = placed()
    calls = _operations(pipeline)
    assert wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None) == {
        "batchItemFailures": []
    }
    assert calls == ["PutItem"]
    assert _status(pipeline, f"noop#{order.id}") == COMPLETED
    # a copy runs the function again (it has no effect) and is a duplicate, not a failure
    assert wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None) == {
        "batchItemFailures": []
    }
    assert runs == [order.id, order.id]


def test_a_transact_only_record_without_an_effect_waits_for_a_live_claim(
    pipeline: Pipeline,
) -> None:
    # catches: _complete_first taking a refusal by a live claim for a success
    order = placed()
    record, calls = _received(pipeline, order, receive_count=4)
    _held_elsewhere(pipeline, f"noop_held#{order.id}")
    wired = _counting("noop_held", [], effect=False).use(pipeline.deps("noop_held"))
    answer = wired.handler(sqs_event(record), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    [entry] = calls[0]["Entries"]
    assert 59 <= entry["VisibilityTimeout"] <= 61  # its last delivery waits out the holder


def test_a_transact_only_completion_that_cannot_be_written_is_retried(
    pipeline: Pipeline,
) -> None:
    wired = _counting("noop_down", [], effect=False).use(pipeline.deps("noop_down"))
    CallFaults(pipeline.clients.dynamodb, "PutItem", times=1, code="InternalServerError")
    record = sqs_record(placed(), queue=QUEUE)
    answer = wired.handler(sqs_event(record), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}


def test_a_copy_meeting_a_live_claim_in_its_transaction_waits_out_the_holder(
    pipeline: Pipeline,
) -> None:
    # catches: the engine taking HeldElsewhereError for an unhandled failure (no hold)
    order = placed(sku="HELD")
    record, calls = _received(pipeline, order, receive_count=4)
    _held_elsewhere(pipeline, f"fold_held#{order.id}")
    wired = _counting("fold_held", []).use(pipeline.deps("fold_held"))
    answer = wired.handler(sqs_event(record), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    [entry] = calls[0]["Entries"]
    assert 59 <= entry["VisibilityTimeout"] <= 61
    assert pipeline.stock("HELD") == {}


class ShortContext:
    """A Lambda context with little time left."""

    def get_remaining_time_in_millis(self) -> int:
        return 1500


def test_a_crash_between_records_still_applies_each_effect_once(pipeline: Pipeline) -> None:
    # GIVEN a transact_only worker whose invocation dies at the third record, after two
    # transactions committed (no claim was written for any of them)
    crash_at = {"ord-3"}

    @worker(
        catalog=CATALOG,
        subscribes=[ORDER_PLACED],
        name="fragile_fold",
        max_concurrency=1,
        transact_only=True,
        timeout_margin_s=0.5,
    )
    def fragile(event: Envelope[Any], deps: Any) -> None:
        if event.data.order_id in crash_at:
            raise KeyboardInterrupt  # escapes like a dying process
        adjust_stock(deps.transact, "sluice-state", event.data.items, release=False)

    wired = fragile.use(pipeline.deps("fragile_fold"))
    orders = [placed(f"ord-{i}", sku="LAMP") for i in range(1, 6)]
    batch = sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders))
    with pytest.raises(KeyboardInterrupt):
        wired.handler(batch, ShortContext())
    assert pipeline.stock("LAMP")["reserved"] == 2
    # WHEN the whole batch comes again at once (no lease to wait out)
    crash_at.clear()
    again = sqs_event(*(sqs_record(o, queue=QUEUE, receive_count=2) for o in orders))
    assert wired.handler(again, ShortContext()) == {"batchItemFailures": []}
    # THEN every order reserved stock exactly once
    assert pipeline.stock("LAMP") == {"reserved": 5, "reservations": 5}


def test_an_error_after_the_folded_transaction_leaves_a_retry_that_is_a_duplicate(
    pipeline: Pipeline,
) -> None:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="late_fold", transact_only=True)
    def late(event: Envelope[Any], deps: Any) -> None:
        adjust_stock(deps.transact, "sluice-state", event.data.items, release=False)
        raise RuntimeError("after the effect")

    wired = late.use(pipeline.deps("late_fold"))
    record = sqs_record(placed(sku="DESK"), queue=QUEUE)
    assert len(wired.handler(sqs_event(record), None)["batchItemFailures"]) == 1
    assert wired.handler(sqs_event(record), None) == {"batchItemFailures": []}
    assert pipeline.stock("DESK") == {"reserved": 1, "reservations": 1}


def test_concurrent_copies_of_a_transact_only_event_apply_it_once(pipeline: Pipeline) -> None:
    # with no claim both copies run the function; only one transaction commits
    runs: list[str] = []
    inside = threading.Event()
    release = threading.Event()

    @worker(
        catalog=CATALOG,
        subscribes=[ORDER_PLACED],
        name="racing_fold",
        transact_only=True,
        max_concurrency=1,
    )
    def racing(event: Envelope[Any], deps: Any) -> None:
        runs.append(event.id)
        if not inside.is_set():
            inside.set()
            assert release.wait(5)  # the first copy writes only after the second has
        adjust_stock(deps.transact, "sluice-state", event.data.items, release=False)

    wired = racing.use(pipeline.deps("racing_fold"))
    order = placed(sku="RACE")
    answers: list[Any] = []
    first = threading.Thread(
        target=lambda: answers.append(
            wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None)
        )
    )
    first.start()
    assert inside.wait(5)
    second = wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None)
    release.set()
    first.join()
    assert second == {"batchItemFailures": []}
    assert answers == [{"batchItemFailures": []}]  # the late one is a duplicate
    assert runs == [order.id, order.id]
    assert pipeline.stock("RACE") == {"reserved": 1, "reservations": 1}


# --- the adaptive precheck, as the engine uses it -----------------------------------------


def test_copies_turn_the_precheck_on_and_new_batches_turn_it_off_again(
    pipeline: Pipeline,
) -> None:
    wired = _counting("adaptive", []).use(pipeline.deps("adaptive"))

    def run(orders: list[Envelope[Any]]) -> list[str]:
        calls = _operations(pipeline)
        assert wired.handler(sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders)), None) == {
            "batchItemFailures": []
        }
        pipeline.clients.dynamodb.meta.events.unregister("before-call.dynamodb.*")
        return calls

    seen = [placed(sku="ADAPT") for _ in range(4)]
    assert "BatchGetItem" not in run(seen)  # nothing known: no precheck
    assert "BatchGetItem" not in run(seen)  # copies after a quiet spell: refused transactions
    assert run(seen) == ["BatchGetItem"]  # copies arriving: one read, no write
    turned_off_after = 0
    while "BatchGetItem" in run([placed(sku="ADAPT") for _ in range(4)]):
        turned_off_after += 1
    # two batches of copies and one of new: share 0.36, then x 0.8 a batch; on while
    # share x 20 >= 1
    assert turned_off_after == 9
    assert pipeline.stock("ADAPT")["reserved"] == 4 + 4 * (turned_off_after + 1)


def test_a_claiming_worker_learns_copies_from_its_refused_claims(pipeline: Pipeline) -> None:
    runs: list[str] = []

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="claiming", max_concurrency=1)
    def claiming(event: Envelope[Any]) -> None:
        runs.append(event.id)

    wired = claiming.use(pipeline.deps("claiming"))
    orders = [placed() for _ in range(3)]
    batch = [sqs_record(o, queue=QUEUE) for o in orders]
    wired.handler(sqs_event(*batch), None)
    calls = _operations(pipeline)
    wired.handler(sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders)), None)
    assert calls == ["PutItem"] * 3  # three refused claims, no precheck yet
    calls.clear()
    wired.handler(sqs_event(*(sqs_record(o, queue=QUEUE) for o in orders)), None)
    assert calls == ["BatchGetItem"]  # 0.2 x 5 = a read: prechecked
    assert runs == [o.id for o in orders]  # the copies never ran
