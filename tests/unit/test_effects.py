"""``Effects.transact`` against a scripted DynamoDB client: what it sends, what it retries,
what it refuses and what its errors say.

The engine-level guarantees (a copy's transaction refused, a lost lease) run against moto in
tests/functional/test_transact_only.py and test_leases.py; here are the answers moto never
gives (a TransactionConflict, a refusal that names no old item) and the limits.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluice.runtime import effects as effects_module
from sluice.runtime.effects import MAX_ITEMS, AlreadyAppliedError, Effects, HeldElsewhereError
from sluice.runtime.errors import PermanentError
from sluice.runtime.idempotency import COMPLETED, DynamoDBIdempotencyStore, LeaseLostError


def _cancelled(*codes: str, item: dict[str, Any] | None = None) -> ClientError:
    """A TransactionCanceledException with one reason per item, the last one carrying
    ``item`` (the old item DynamoDB returns with ALL_OLD)."""
    reasons: list[dict[str, Any]] = [{"Code": code} for code in codes]
    if item is not None:
        reasons[-1]["Item"] = item
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": reasons,
        },
        "TransactWriteItems",
    )


class ScriptedDb:
    """Answers each TransactWriteItems with the next of ``answers`` (an error to raise, or
    None for success) and keeps every request."""

    def __init__(self, *answers: ClientError | None) -> None:
        self.answers = list(answers)
        self.requests: list[list[dict[str, Any]]] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append(TransactItems)
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        return {}


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """The jitter bounds of every pause between attempts (no real sleeping)."""
    bounds: list[tuple[float, float]] = []
    slept: list[float] = []

    def uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr(effects_module.random, "uniform", uniform)
    monkeypatch.setattr(effects_module.time, "sleep", slept.append)
    yield bounds
    assert slept == [high for _, high in bounds]


def _item(n: int) -> dict[str, Any]:
    return {"Put": {"TableName": "state", "Item": {"pk": {"S": f"p{n}"}}}}


def _store() -> DynamoDBIdempotencyStore:
    return DynamoDBIdempotencyStore(None, "sluice-idempotency", ttl_s=3600)


# --- retries: only a lost race is tried again ---------------------------------------------


def test_a_transaction_that_lost_a_race_is_tried_again_with_a_growing_jittered_pause(
    pauses: list[tuple[float, float]],
) -> None:
    db = ScriptedDb(_cancelled("TransactionConflict"), _cancelled("None", "TransactionConflict"))
    Effects(db).transact([_item(1), _item(2)])
    assert db.requests == [[_item(1), _item(2)]] * 3
    assert pauses == [(0.01, 0.05), (0.01, 0.1)]


def test_a_transaction_that_loses_four_races_gives_up_with_the_conflict(
    pauses: list[tuple[float, float]],
) -> None:
    db = ScriptedDb(*[_cancelled("TransactionConflict")] * 5)
    with pytest.raises(ClientError) as raised:
        Effects(db).transact([_item(1)])
    assert raised.value.response["CancellationReasons"] == [{"Code": "TransactionConflict"}]
    assert len(db.requests) == 4
    assert pauses == [(0.01, 0.05), (0.01, 0.1), (0.01, 0.2)]


@pytest.mark.parametrize(
    "refusal",
    [
        _cancelled("TransactionConflict", "ConditionalCheckFailed"),  # a condition decided it
        _cancelled("ValidationError"),
        ClientError({"Error": {"Code": "ThrottlingException"}}, "TransactWriteItems"),
    ],
    ids=["condition-failed-too", "another-reason", "not-a-cancellation"],
)
def test_a_transaction_refused_for_any_other_reason_is_not_tried_again(
    refusal: ClientError, pauses: list[tuple[float, float]]
) -> None:
    db = ScriptedDb(refusal)
    with pytest.raises(ClientError) as raised:
        Effects(db).transact([_item(1)])
    assert raised.value is refusal
    assert len(db.requests) == 1
    assert pauses == []


# --- without an idempotency store: a plain transaction ------------------------------------


def test_without_a_store_the_items_are_written_as_they_are_and_may_be_written_again() -> None:
    db = ScriptedDb()
    effects = Effects(db)
    effects.transact([_item(1)])
    effects.transact([_item(2)])
    assert db.requests == [[_item(1)], [_item(2)]]


def test_without_a_store_an_effect_may_have_a_hundred_items() -> None:
    db = ScriptedDb()
    Effects(db).transact([_item(n) for n in range(MAX_ITEMS)])
    assert len(db.requests[0]) == MAX_ITEMS


def test_without_a_store_an_effect_of_more_than_a_hundred_items_is_permanent() -> None:
    db = ScriptedDb()
    with pytest.raises(PermanentError) as refused:
        Effects(db).transact([_item(n) for n in range(MAX_ITEMS + 1)])
    assert refused.value.reason == "effect_too_large"
    assert refused.value.detail == (
        "the effect is 101 items; TransactWriteItems takes at most 100. Split the event, or "
        "write the effect in steps that are each idempotent"
    )
    assert db.requests == []


# --- with a store: the completion is the last item ----------------------------------------


def test_with_a_store_the_completion_counts_towards_the_hundred_items() -> None:
    db = ScriptedDb()
    Effects(db, _store(), "w#e1").transact([_item(n) for n in range(MAX_ITEMS - 1)])
    assert len(db.requests[0]) == MAX_ITEMS
    with pytest.raises(PermanentError) as refused:
        Effects(db, _store(), "w#e2").transact([_item(n) for n in range(MAX_ITEMS)])
    assert refused.value.reason == "effect_too_large"
    assert refused.value.detail == (
        "the effect is 101 items with the idempotency completion; TransactWriteItems takes at "
        "most 100. Split the event, or write the effect in steps that are each idempotent"
    )
    assert len(db.requests) == 1


def test_a_records_effects_commit_once_and_a_second_transact_says_so() -> None:
    db = ScriptedDb()
    effects = Effects(db, _store(), "w#e", "owner")
    assert effects.committed is False
    effects.transact([_item(1)])
    assert effects.committed is True
    with pytest.raises(RuntimeError, match=r"^a record's effects are committed once: use one "):
        effects.transact([_item(2)])
    assert len(db.requests) == 1


def _completed() -> dict[str, Any]:
    return {"id": {"S": "w#e"}, "status": {"S": COMPLETED}}


def _held(until_ms: int) -> dict[str, Any]:
    return {
        "id": {"S": "w#e"},
        "status": {"S": "IN_PROGRESS"},
        "in_progress_expiry": {"N": str(until_ms)},
    }


def test_the_refusal_is_read_from_the_completions_reason_not_the_effects() -> None:
    # three items: two effects (no condition failed) and the completion, refused by a
    # completed event
    db = ScriptedDb(_cancelled("None", "None", "ConditionalCheckFailed", item=_completed()))
    with pytest.raises(AlreadyAppliedError) as refused:
        Effects(db, _store(), "w#e").transact([_item(1), _item(2)])
    assert refused.value.args == ("w#e",)


def test_a_copy_held_by_a_live_claim_names_the_event_and_the_end_of_the_claim() -> None:
    db = ScriptedDb(_cancelled("None", "ConditionalCheckFailed", item=_held(1_700_000_000_000)))
    with pytest.raises(HeldElsewhereError) as refused:
        Effects(db, _store(), "w#e").transact([_item(1)])
    assert (str(refused.value), refused.value.until_ms) == ("w#e", 1_700_000_000_000)


def test_a_refusal_that_names_no_old_item_is_held_for_an_unknown_time() -> None:
    db = ScriptedDb(_cancelled("None", "ConditionalCheckFailed"))
    with pytest.raises(HeldElsewhereError) as refused:
        Effects(db, _store(), "w#e").transact([_item(1)])
    assert (str(refused.value), refused.value.until_ms) == ("w#e", 0)


def test_a_holder_refused_by_another_holder_lost_its_lease_and_says_which_event() -> None:
    db = ScriptedDb(_cancelled("None", "ConditionalCheckFailed", item=_held(1)))
    effects = Effects(db, _store(), "w#e", "me")
    with pytest.raises(LeaseLostError) as refused:
        effects.transact([_item(1)])
    assert refused.value.args == ("w#e",)
    assert not effects.committed
