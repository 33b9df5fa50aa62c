"""``DynamoDBIdempotencyStore`` against a scripted client: the answers moto never gives.

``lookup`` (the precheck's BatchGetItem): keys left unprocessed, an answer without the table,
an item without an expiry, and what the read asks for. ``complete_first``: a refusal that
names no old item.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluice.runtime import idempotency
from sluice.runtime.idempotency import COMPLETED, TTL_ATTRIBUTE, Claim, DynamoDBIdempotencyStore

TABLE = "sluice-idempotency"


class ScriptedClient:
    """Answers each BatchGetItem with the next of ``answers`` and keeps every request."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        return self.answers.pop(0) if self.answers else {}

    def put_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        error = {"Error": {"Code": "ConditionalCheckFailedException", "Message": "refused"}}
        raise ClientError(error, "PutItem")  # with no old item: it was gone meanwhile


def _completed(key: str, *, ttl: int | None = None) -> dict[str, Any]:
    item = {"id": {"S": key}, "status": {"S": COMPLETED}}
    if ttl is not None:
        item[TTL_ATTRIBUTE] = {"N": str(ttl)}
    return item


def _unprocessed(*keys: str) -> dict[str, Any]:
    return {TABLE: {"Keys": [{"id": {"S": k}} for k in keys], "ConsistentRead": True}}


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(idempotency.time, "sleep", slept.append)
    return slept


def test_the_precheck_reads_strongly_consistent_so_a_completion_just_written_is_seen() -> None:
    client = ScriptedClient({"Responses": {TABLE: []}})
    DynamoDBIdempotencyStore(client, TABLE, ttl_s=60).lookup(["w#a", "w#a", "w#b"])
    [request] = client.requests
    assert request[TABLE]["ConsistentRead"] is True
    assert request[TABLE]["Keys"] == [{"id": {"S": "w#a"}}, {"id": {"S": "w#b"}}]


def test_keys_left_unprocessed_are_asked_again_after_a_growing_pause(pauses: list[float]) -> None:
    later = int(time.time()) + 3600
    client = ScriptedClient(
        {"UnprocessedKeys": _unprocessed("w#a", "w#b")},  # an answer without the table
        {"Responses": {}, "UnprocessedKeys": _unprocessed("w#b")},
        {"Responses": {TABLE: [_completed("w#a", ttl=later), _completed("w#b", ttl=later)]}},
    )
    found = DynamoDBIdempotencyStore(client, TABLE, ttl_s=60).lookup(["w#a", "w#b"])
    assert {key: seen.claim(0) for key, seen in found.items()} == {
        "w#a": Claim.DUPLICATE,
        "w#b": Claim.DUPLICATE,
    }
    assert client.requests[1:] == [_unprocessed("w#a", "w#b"), _unprocessed("w#b")]
    assert pauses == [0.05, 0.1]


def test_keys_still_unprocessed_after_five_reads_count_as_unknown(pauses: list[float]) -> None:
    client = ScriptedClient(*[{"UnprocessedKeys": _unprocessed("w#a")}] * 6)
    assert DynamoDBIdempotencyStore(client, TABLE, ttl_s=60).lookup(["w#a"]) == {}
    assert len(client.requests) == 5
    assert pauses == [0.05, 0.1, 0.2, 0.4, 0.8]


def test_an_item_past_its_expiry_or_without_one_counts_as_new(pauses: list[float]) -> None:
    now = int(time.time())
    client = ScriptedClient(
        {
            "Responses": {
                TABLE: [
                    _completed("w#gone", ttl=now - 1),
                    _completed("w#ageless"),
                    _completed("w#kept", ttl=now + 3600),
                ]
            }
        }
    )
    found = DynamoDBIdempotencyStore(client, TABLE, ttl_s=60).lookup(
        ["w#gone", "w#ageless", "w#kept"]
    )
    assert list(found) == ["w#kept"]
    assert pauses == []


def test_a_first_completion_refused_without_the_old_item_is_held_from_now() -> None:
    # the holder that refused it is unknown: its record waits no longer than a retry would
    client = ScriptedClient()
    before = int(time.time() * 1000)
    verdict = DynamoDBIdempotencyStore(client, TABLE, ttl_s=60).complete_first("w#gone")
    assert verdict.claim is Claim.IN_PROGRESS
    assert before <= verdict.held_until_ms <= int(time.time() * 1000)


def test_a_claim_refused_without_the_old_item_is_held_as_long_as_it_would_have_been() -> None:
    client = ScriptedClient()
    verdict = DynamoDBIdempotencyStore(client, TABLE, ttl_s=60).claim("w#gone", "me", 12_345)
    assert (verdict.claim, verdict.held_until_ms) == (Claim.IN_PROGRESS, 12_345)
