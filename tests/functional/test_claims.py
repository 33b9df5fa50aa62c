"""The claim on its own: no precheck, no transactional completion to hide a broken condition.

Each test names the mutation of ``DynamoDBIdempotencyStore.claim`` it catches: a condition
that lets a live claim be stolen, one that compares the expiry the wrong way, and one that
is always true.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from events import CATALOG, ORDER_PLACED
from sluice.core import Envelope
from sluice.runtime import worker
from sluice.runtime.idempotency import (
    COMPLETED,
    TTL_ATTRIBUTE,
    Claim,
    DynamoDBIdempotencyStore,
    Held,
)
from tests.conftest import Pipeline
from tests.factories import placed, sqs_event, sqs_record
from tests.functional.faults import CallFaults

HOUR_MS = 3_600_000
QUEUE = "sluice-inventory"


def _store(pipeline: Pipeline) -> DynamoDBIdempotencyStore:
    table = pipeline.topology.table("idempotency")
    return DynamoDBIdempotencyStore(pipeline.clients.dynamodb, table, ttl_s=3600)


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_a_live_claim_cannot_be_taken(pipeline: Pipeline) -> None:
    # catches: a condition that is always true; one that lets a live claim be stolen
    store = _store(pipeline)
    assert store.claim("w#live", "me", _now_ms() + HOUR_MS).claim is Claim.CLAIMED
    assert store.claim("w#live", "me", _now_ms() + HOUR_MS).claim is Claim.IN_PROGRESS


def test_an_expired_claim_is_taken_over(pipeline: Pipeline) -> None:
    # catches: comparing the in-progress expiry the wrong way round
    store = _store(pipeline)
    assert (
        store.claim("w#dead", "me", _now_ms() - 1000).claim is Claim.CLAIMED
    )  # its invocation died
    assert store.claim("w#dead", "me", _now_ms() + HOUR_MS).claim is Claim.CLAIMED


def test_a_completed_event_is_a_duplicate_however_old_its_claim(pipeline: Pipeline) -> None:
    store = _store(pipeline)
    assert store.claim("w#done", "me", _now_ms() - 1000).claim is Claim.CLAIMED
    assert store.complete("w#done", "me") is Held.HELD
    assert store.claim("w#done", "me", _now_ms() + HOUR_MS).claim is Claim.DUPLICATE


def test_a_completion_past_its_ttl_counts_as_gone(pipeline: Pipeline) -> None:
    # DynamoDB deletes expired items lazily; until it does, the claim must see them as gone
    pipeline.clients.dynamodb.put_item(
        TableName=pipeline.topology.table("idempotency"),
        Item={
            "id": {"S": "w#old"},
            "status": {"S": COMPLETED},
            TTL_ATTRIBUTE: {"N": str(int(time.time()) - 10)},
        },
    )
    assert _store(pipeline).claim("w#old", "me", _now_ms() + HOUR_MS).claim is Claim.CLAIMED


def test_a_refused_claim_is_never_reported_as_claimed(pipeline: Pipeline) -> None:
    # catches: trusting the old item's own verdict after DynamoDB refused the write. An item
    # in a state the condition does not take over (here a status it does not know, with its
    # expiry passed) looks claimable to Seen.claim, but the write did not happen
    pipeline.clients.dynamodb.put_item(
        TableName=pipeline.topology.table("idempotency"),
        Item={
            "id": {"S": "w#odd"},
            "status": {"S": "PAUSED"},
            "in_progress_expiry": {"N": str(_now_ms() - 1000)},
            TTL_ATTRIBUTE: {"N": str(int(time.time()) + 3600)},
        },
    )
    assert _store(pipeline).claim("w#odd", "me", _now_ms() + HOUR_MS).claim is Claim.IN_PROGRESS


def test_a_refusal_without_the_old_item_is_in_progress(pipeline: Pipeline) -> None:
    # catches: reading the old item when DynamoDB returned none (deleted meanwhile)
    store = _store(pipeline)
    refused = "ConditionalCheckFailedException"
    CallFaults(pipeline.clients.dynamodb, "PutItem", times=1, code=refused)
    assert store.claim("w#gone", "me", _now_ms() + HOUR_MS).claim is Claim.IN_PROGRESS


def test_concurrent_duplicates_run_a_plain_worker_once(pipeline: Pipeline) -> None:
    # GIVEN a worker whose effect is not transactional (completion is a separate write),
    # and two invocations delivering the same event at the same moment, so neither one's
    # precheck can see the other's completion: only the claim stands between them
    runs: list[str] = []
    inside = threading.Event()

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="plain", max_concurrency=1)
    def plain(event: Envelope[Any]) -> None:
        runs.append(event.id)
        inside.set()
        time.sleep(0.5)  # still running when the copy arrives

    wired = plain.use(pipeline.deps("plain"))
    order = placed()
    answers: list[Any] = []

    def deliver() -> None:
        answers.append(wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None))

    first = threading.Thread(target=deliver)
    first.start()
    assert inside.wait(5)
    # WHEN the copy arrives while the first still runs
    copy = sqs_record(order, queue=QUEUE)
    other = placed()
    second = wired.handler(sqs_event(copy, sqs_record(other, queue=QUEUE)), None)
    first.join()
    # THEN the copy is refused for a retry, and the function ran once for each event
    assert second == {"batchItemFailures": [{"itemIdentifier": copy["messageId"]}]}
    assert answers == [{"batchItemFailures": []}]
    assert sorted(runs) == sorted([order.id, other.id])
    # and the retry, once the first has completed, is a duplicate that does not run
    assert wired.handler(sqs_event(sqs_record(order, queue=QUEUE)), None) == {
        "batchItemFailures": []
    }
    assert sorted(runs) == sorted([order.id, other.id])


def _without_precheck(pipeline: Pipeline) -> None:
    """Every BatchGetItem fails, so the precheck steps aside and the claim alone decides."""
    CallFaults(pipeline.clients.dynamodb, "BatchGetItem", times=1000, code="AccessDenied")


def _plain_worker(pipeline: Pipeline, runs: list[str]) -> Any:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="claim_only", max_concurrency=1)
    def claim_only(event: Envelope[Any]) -> None:
        runs.append(event.id)

    return claim_only.use(pipeline.deps("claim_only"))


def test_without_the_precheck_the_claim_makes_a_completed_event_a_duplicate(
    pipeline: Pipeline,
) -> None:
    # catches: Lifecycle._claim mishandling the DUPLICATE verdict
    runs: list[str] = []
    wired = _plain_worker(pipeline, runs)
    done, new = placed(), placed()
    store = _store(pipeline)
    store.claim(f"claim_only#{done.id}", "other", _now_ms() + HOUR_MS)
    assert store.complete(f"claim_only#{done.id}", "other") is Held.HELD
    _without_precheck(pipeline)
    batch = sqs_event(sqs_record(done, queue=QUEUE), sqs_record(new, queue=QUEUE))
    assert wired.handler(batch, None) == {"batchItemFailures": []}
    assert runs == [new.id]


def test_without_the_precheck_the_claim_retries_an_event_held_elsewhere(
    pipeline: Pipeline,
) -> None:
    # catches: Lifecycle._claim mishandling the IN_PROGRESS verdict
    runs: list[str] = []
    wired = _plain_worker(pipeline, runs)
    busy, new = placed(), placed()
    claimed = _store(pipeline).claim(f"claim_only#{busy.id}", "other", _now_ms() + HOUR_MS)
    assert claimed.claim is Claim.CLAIMED
    _without_precheck(pipeline)
    held = sqs_record(busy, queue=QUEUE)
    answer = wired.handler(sqs_event(held, sqs_record(new, queue=QUEUE)), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": held["messageId"]}]}
    assert runs == [new.id]


def test_a_claim_that_cannot_be_written_runs_nothing(pipeline: Pipeline) -> None:
    # catches: Lifecycle._claim running the record when the idempotency table is unreachable
    runs: list[str] = []
    wired = _plain_worker(pipeline, runs)
    CallFaults(pipeline.clients.dynamodb, "PutItem", times=1000, code="AccessDenied")
    record = sqs_record(placed(), queue=QUEUE)
    # an all-failed queue batch answers every id (a retry, not a Lambda error)
    assert wired.handler(sqs_event(record), None) == {
        "batchItemFailures": [{"itemIdentifier": record["messageId"]}]
    }
    assert runs == []


def test_settle_completes_and_releases_each_lease_and_says_which_it_could_not(
    pipeline: Pipeline,
) -> None:
    # GIVEN leases held by "me", one taken over by a copy, one completed elsewhere, and a key
    # DynamoDB refuses outright (over its 2048-byte key limit)
    store, until = _store(pipeline), _now_ms() + HOUR_MS
    for key in ("w#mine", "w#taken", "w#done", "w#released"):
        store.claim(key, "me", until)
    set_owner(pipeline, "w#taken", "copy")
    store.complete("w#done", "me")
    store.claim("w#done-by-copy", "copy", until)
    store.complete("w#done-by-copy", "copy")
    huge = "w#" + "x" * 3000
    # WHEN it settles
    settled = store.settle(
        {huge: "me", "w#taken": "me", "w#done-by-copy": "me", "w#mine": "me"},
        {"w#released": "me"},
    )
    # THEN each refusal is named by its key, and the rest was written
    assert (settled.unwritten, settled.lost, settled.completed_elsewhere) == (
        [huge],
        ["w#taken"],
        ["w#done-by-copy"],
    )
    assert _status(pipeline, "w#mine") == COMPLETED
    assert _status(pipeline, "w#released") is None
    # AND a release that cannot be written is named too, and the next one still goes
    store.claim("w#again", "me", until)
    CallFaults(pipeline.clients.dynamodb, "DeleteItem", times=1)
    assert store.settle({}, {"w#released": "me", "w#again": "me"}).unwritten == ["w#released"]
    assert _status(pipeline, "w#again") is None


def test_abandon_gives_up_every_lease_still_held_and_counts_them(pipeline: Pipeline) -> None:
    store, until = _store(pipeline), _now_ms() + HOUR_MS
    for key in ("w#a", "w#b", "w#c"):
        store.claim(key, "me", until)
    set_owner(pipeline, "w#c", "copy")
    store.claim("w#stuck", "me", until)
    CallFaults(pipeline.clients.dynamodb, "DeleteItem", times=1)
    assert store.abandon({"w#stuck": "me", "w#a": "me", "w#b": "me", "w#c": "me"}) == 2
    assert (_status(pipeline, "w#a"), _status(pipeline, "w#b")) == (None, None)
    assert _status(pipeline, "w#stuck") is not None, "it lapses with its lease instead"
    assert store.claim("w#c", "other", until).claim is Claim.IN_PROGRESS, "the copy's stays"


def set_owner(pipeline: Pipeline, key: str, owner: str) -> None:
    """Make ``owner`` the holder of the lease on ``key`` (as a copy that took it over)."""
    pipeline.clients.dynamodb.update_item(
        TableName=pipeline.topology.table("idempotency"),
        Key={"id": {"S": key}},
        UpdateExpression="SET #o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": owner}},
    )


def _status(pipeline: Pipeline, key: str) -> str | None:
    item = pipeline.clients.dynamodb.get_item(
        TableName=pipeline.topology.table("idempotency"), Key={"id": {"S": key}}
    ).get("Item")
    return str(item["status"]["S"]) if item else None
