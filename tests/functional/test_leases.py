"""A claim is a lease: only its holder completes, extends or gives it up.

Each test names the hole it closes (issue 23, finding 2: claims carried no owner, so a
draining task could delete another task's live claim, and a late finisher's completion was
applied over a copy's) or the mutation it catches.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from events import CATALOG, ORDER_PLACED
from sluice.core import Envelope
from sluice.runtime import Deps, worker
from sluice.runtime.idempotency import (
    COMPLETED,
    IN_PROGRESS,
    OWNER_ATTRIBUTE,
    Claim,
    DynamoDBIdempotencyStore,
    Held,
)
from tests.conftest import Pipeline
from tests.factories import placed, sqs_event, sqs_record
from tests.functional.test_claims import HOUR_MS, QUEUE, _now_ms, _store
from tests.functional.test_metrics import emf_documents


def _item(pipeline: Pipeline, key: str) -> dict[str, Any]:
    return pipeline.clients.dynamodb.get_item(  # type: ignore[no-any-return]
        TableName=pipeline.topology.table("idempotency"), Key={"id": {"S": key}}
    ).get("Item", {})


def _taken_over(store: DynamoDBIdempotencyStore, key: str) -> None:
    """``late`` held ``key`` until a moment ago; ``copy`` has taken it over since."""
    assert store.claim(key, "late", _now_ms() - 1).claim is Claim.CLAIMED
    assert store.claim(key, "copy", _now_ms() + HOUR_MS).claim is Claim.CLAIMED


def test_a_late_holders_completion_is_refused_once_a_copy_took_the_lease(
    pipeline: Pipeline,
) -> None:
    store = _store(pipeline)
    _taken_over(store, "w#taken")
    assert store.complete("w#taken", "late") is Held.LOST
    assert _item(pipeline, "w#taken")["status"]["S"] == IN_PROGRESS
    assert store.complete("w#taken", "copy") is Held.HELD
    assert _item(pipeline, "w#taken")["status"]["S"] == COMPLETED


def test_a_completion_after_someone_else_completed_says_so(pipeline: Pipeline) -> None:
    store = _store(pipeline)
    _taken_over(store, "w#done")
    assert store.complete("w#done", "copy") is Held.HELD
    assert store.complete("w#done", "late") is Held.COMPLETED


def test_a_lapsed_lease_nobody_took_is_still_its_holders(pipeline: Pipeline) -> None:
    # completing it is exactly-once: no copy ran
    store = _store(pipeline)
    assert store.claim("w#slow", "me", _now_ms() - 1).claim is Claim.CLAIMED
    assert store.complete("w#slow", "me") is Held.HELD


def test_the_claim_names_its_holder(pipeline: Pipeline) -> None:
    store = _store(pipeline)
    store.claim("w#named", "me", _now_ms() + HOUR_MS)
    assert _item(pipeline, "w#named")[OWNER_ATTRIBUTE] == {"S": "me"}


def test_abandon_gives_up_only_a_lease_its_holder_still_holds(pipeline: Pipeline) -> None:
    # catches: the drain's abandon with its condition removed (a completed marker deleted,
    # or a copy's live lease deleted by the task that lost it)
    store = _store(pipeline)
    _taken_over(store, "w#live")
    store.claim("w#finished", "me", _now_ms() + HOUR_MS)
    assert store.complete("w#finished", "me") is Held.HELD
    store.claim("w#mine", "me", _now_ms() + HOUR_MS)

    forgotten = store.abandon({"w#live": "late", "w#finished": "me", "w#mine": "me"})

    assert forgotten == 1
    assert _item(pipeline, "w#live")[OWNER_ATTRIBUTE] == {"S": "copy"}
    assert _item(pipeline, "w#finished")["status"]["S"] == COMPLETED
    assert _item(pipeline, "w#mine") == {}


def test_only_the_holder_extends_its_lease(pipeline: Pipeline) -> None:
    store = _store(pipeline)
    _taken_over(store, "w#ext")
    later = _now_ms() + 2 * HOUR_MS
    assert store.extend("w#ext", "late", later) is Held.LOST
    assert store.extend("w#ext", "copy", later) is Held.HELD
    assert _item(pipeline, "w#ext")["in_progress_expiry"] == {"N": str(later)}
    store.complete("w#ext", "copy")
    assert store.extend("w#ext", "copy", later) is Held.COMPLETED


def test_a_refused_claim_reports_the_holders_expiry(pipeline: Pipeline) -> None:
    # finding 4: the holder's real expiry is in the refused write's answer
    store = _store(pipeline)
    until = _now_ms() + 50_000
    store.claim("w#race", "holder", until)
    verdict = store.claim("w#race", "copy", _now_ms() + 5_000)
    assert verdict.claim is Claim.IN_PROGRESS
    assert verdict.held_until_ms == until


def _lose_the_lease_while_running(pipeline: Pipeline, key: str) -> None:
    """What a copy does once this holder's lease lapsed: it takes the lease over."""
    pipeline.clients.dynamodb.update_item(
        TableName=pipeline.topology.table("idempotency"),
        Key={"id": {"S": key}},
        UpdateExpression="SET #o = :copy",
        ExpressionAttributeNames={"#o": OWNER_ATTRIBUTE},
        ExpressionAttributeValues={":copy": {"S": "copy"}},
    )


@pytest.mark.parametrize("transactional", [False, True])
def test_a_holder_that_lost_its_lease_is_refused_logged_and_counted(
    pipeline: Pipeline, transactional: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a worker whose lease is taken over by a copy while it runs
    effects: list[str] = []

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="slowpoke")
    def slowpoke(event: Envelope[Any], deps: Deps) -> None:
        _lose_the_lease_while_running(pipeline, f"slowpoke#{event.id}")
        if not transactional:
            effects.append(event.id)  # a plain effect: it has happened, whatever follows
            return
        deps.transact(
            [
                {
                    "Put": {
                        "TableName": pipeline.topology.table("state"),
                        "Item": {"pk": {"S": f"effect#{event.id}"}, "sk": {"S": "-"}},
                    }
                }
            ]
        )
        effects.append(event.id)

    record = sqs_record(placed(), queue=QUEUE)
    deps = pipeline.deps("slowpoke")
    deps.telemetry.metrics_enabled = True
    capsys.readouterr()
    # WHEN it finishes
    answer = slowpoke.use(deps).handler(sqs_event(record), None)
    # THEN its completion is refused: the record is retried (the copy holds the event now)
    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    key = f"slowpoke#{json.loads(record['body'])['id']}"
    assert _item(pipeline, key)["status"]["S"] == IN_PROGRESS
    assert _item(pipeline, key)[OWNER_ATTRIBUTE] == {"S": "copy"}
    # a transact() effect was refused with the completion; a plain one could not be
    assert len(effects) == (0 if transactional else 1)
    lines = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    lost = [line for line in lines if line["message"] == "lease lost; completion refused"]
    assert len(lost) == 1 and lost[0]["effect_applied"] is (not transactional)
    assert (lost[0]["message_id"], lost[0]["reason"]) == (record["messageId"], "lease_lost")
    [finished] = [line for line in lines if line["message"] == "record finished"]
    assert (finished["outcome"], finished["reason"]) == ("retry", "lease_lost")
    [metrics] = emf_documents(capsys.readouterr().out)
    assert metrics["LeaseLost"] == [1.0]
    units = {m["Name"]: m["Unit"] for m in metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["LeaseLost"] == "Count"


def test_a_transactional_effect_of_an_event_completed_elsewhere_is_a_duplicate(
    pipeline: Pipeline,
) -> None:
    # the refusal's own item tells "completed by another holder" from "lease lost": the
    # effect is not applied, and the record is done (deleted), not retried
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="overtaken")
    def overtaken(event: Envelope[Any], deps: Deps) -> None:
        key = f"overtaken#{event.id}"
        _lose_the_lease_while_running(pipeline, key)
        assert _store(pipeline).complete(key, "copy") is Held.HELD  # the copy finished first
        deps.transact(
            [
                {
                    "Put": {
                        "TableName": pipeline.topology.table("state"),
                        "Item": {"pk": {"S": f"effect#{event.id}"}, "sk": {"S": "-"}},
                    }
                }
            ]
        )

    order = placed()
    answer = overtaken.use(pipeline.deps("overtaken")).handler(
        sqs_event(sqs_record(order, queue=QUEUE)), None
    )
    assert answer == {"batchItemFailures": []}
    effect = pipeline.clients.dynamodb.get_item(
        TableName=pipeline.topology.table("state"),
        Key={"pk": {"S": f"effect#{order.id}"}, "sk": {"S": "-"}},
    )
    assert "Item" not in effect, "the late holder's effect was refused with its completion"


def test_a_holder_whose_event_a_copy_completed_meanwhile_is_a_duplicate_and_lets_go(
    pipeline: Pipeline,
) -> None:
    # GIVEN a worker whose lease a copy takes over and whose event the copy completes, all
    # while it runs under `sluice work` (whose context keeps the leases it must renew)
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="overtaken")
    def overtaken(event: Envelope[Any]) -> None:
        key = f"overtaken#{event.id}"
        _lose_the_lease_while_running(pipeline, key)
        assert _store(pipeline).complete(key, "copy") is Held.HELD

    record = sqs_record(placed(), queue=QUEUE)
    context = SimpleNamespace(sluice_claims={}, get_remaining_time_in_millis=lambda: 60_000)
    # WHEN it finishes
    answer = overtaken.use(pipeline.deps("overtaken")).handler(sqs_event(record), context)
    # THEN its record is done (a duplicate of the copy's run), not retried; the lease it
    # lost is no longer one to renew; and the refusal is logged
    assert answer == {"batchItemFailures": []}
    assert context.sluice_claims == {}
    lines = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    [lost] = [line for line in lines if line["message"] == "lease lost; completion refused"]
    assert (lost["message_id"], lost["effect_applied"]) == (record["messageId"], True)
    [finished] = [line for line in lines if line["message"] == "record finished"]
    assert finished["outcome"] == "duplicate" and "reason" not in finished
