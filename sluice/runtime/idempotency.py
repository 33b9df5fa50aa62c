"""Exactly-once effects over at-least-once delivery, with fewer DynamoDB requests.

Keyed on ``<worker>#<Envelope.id>``, never on the SQS messageId: SNS may deliver one
message twice, and the copies reach SQS under different message ids.

A claim is a lease. It names its holder (an ``owner`` token, new for every claim) and lives
until ``in_progress_expiry``; only its holder completes, extends or gives it up, each write
conditioned on the token. A lease that lapses may be taken by a copy of the event; from then
on the old holder's completion is refused (``Held.LOST``), never silently applied. A lapsed
lease nobody took over is still its holder's.

- One BatchGetItem per batch finds the ids already done: a duplicate costs no write.
- One conditional PutItem claims each new id (in progress, expiring with the invocation).
  A refused claim reads the holder's expiry from the refusal itself, at no extra request.
- Completion rides inside the record's own effect when the worker writes its effect with
  ``deps.transact(...)``: effect and completion commit atomically, so even a crash between
  them cannot double an effect, and completion costs no request of its own. Otherwise one
  conditional PutItem marks it complete right after the function returns.
- ``sluice work`` extends the leases of the records it runs with every visibility
  extension: one conditional UpdateItem per lease.
- Failed ids are released, one conditional DeleteItem each, at the end of the batch (a
  failure path only), so a retry may claim them.
- A consumer that gives up records still running (``sluice work`` past its drain deadline,
  just before it exits) abandons their leases, so the copies it hands back run at once.

Powertools spends PutItem + UpdateItem per new record and a PutItem per duplicate; see
``bench/`` for both, side by side.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
TTL_ATTRIBUTE = "expiration"
"""The item attribute DynamoDB's TTL reads (epoch seconds); the table is declared with it."""
OWNER_ATTRIBUTE = "owner"
"""The lease holder's token, on an item in progress (a reserved word: always ``#o``)."""
_GET_CHUNK = 100
_ATTEMPTS = 5
_REFUSED = "ConditionalCheckFailedException"
_FREE = (
    f"attribute_not_exists(id) OR {TTL_ATTRIBUTE} < :now_s "
    "OR (#s = :in_progress AND in_progress_expiry < :now_ms)"
)
"""The condition of every write that takes a key (a claim, or a first completion)."""
_HELD_BY = "#s = :in_progress AND #o = :owner"
"""The condition of every write only the lease's holder may make."""


class Claim(Enum):
    """The answer to "may I run this event?"."""

    CLAIMED = "claimed"
    DUPLICATE = "duplicate"
    IN_PROGRESS = "in_progress"


class Held(Enum):
    """What a holder's conditioned write (complete, extend) found."""

    HELD = "held"
    """The lease was still the writer's: the write was made."""
    COMPLETED = "completed"
    """The event was completed by someone else: the write was refused."""
    LOST = "lost"
    """Another holder took the lease, or it was given up: the write was refused."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A claim's answer, and for an event held elsewhere, when that holder's lease lapses."""

    claim: Claim
    held_until_ms: int = 0


@dataclass(frozen=True, slots=True)
class Seen:
    """What the table says about one key."""

    status: str
    in_progress_expiry_ms: int

    def claim(self, now_ms: int) -> Claim:
        """What a new claim on this key would meet."""
        if self.status == COMPLETED:
            return Claim.DUPLICATE
        return Claim.IN_PROGRESS if self.in_progress_expiry_ms > now_ms else Claim.CLAIMED


class IdempotencyStore:
    """The port: small operations over a key-value table; a lease is a key and its owner."""

    def lookup(self, keys: Sequence[str]) -> dict[str, Seen]:
        """What is known of ``keys`` (absent keys are new)."""
        raise NotImplementedError

    def claim(self, key: str, owner: str, until_ms: int) -> Verdict:
        """Atomically lease ``key`` to ``owner`` unless it is completed or held by another."""
        raise NotImplementedError

    def complete(self, key: str, owner: str) -> Held:
        """Mark one key completed, if ``owner`` still holds its lease."""
        raise NotImplementedError

    def completion(self, key: str, owner: str) -> dict[str, Any]:
        """A TransactWriteItems entry that completes ``key`` if ``owner`` holds its lease."""
        raise NotImplementedError

    def complete_first(self, key: str) -> Verdict:
        """Mark ``key`` completed unless it is completed or held by another (no claim came
        first: a ``transact_only`` worker whose function wrote no effect). ``CLAIMED``: done."""
        raise NotImplementedError

    def first_completion(self, key: str) -> dict[str, Any]:
        """A TransactWriteItems entry that completes ``key`` unless it is completed or held by
        another: the claim and the completion in one write, for ``transact_only`` workers."""
        raise NotImplementedError

    def extend(self, key: str, owner: str, until_ms: int) -> Held:
        """Move the lease's end to ``until_ms``, if ``owner`` still holds it."""
        raise NotImplementedError

    def settle(self, completed: Mapping[str, str], released: Mapping[str, str]) -> Settled:
        """Complete ``completed`` and forget ``released`` (key -> owner), each lease only
        while its owner holds it."""
        raise NotImplementedError

    def abandon(self, leases: Mapping[str, str]) -> int:
        """Give up the leases (key -> owner) still held; how many were given up."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Settled:
    """What ``settle`` could not do: keys it could not write, and completions refused."""

    unwritten: list[str]
    lost: list[str]
    """Refused: another holder took the lease, or it was given up."""
    completed_elsewhere: list[str]
    """Refused: the event was completed by another holder meanwhile."""


class LeaseLostError(Exception):
    """The lease lapsed and was taken, or given up: this holder's write was refused."""


class DynamoDBIdempotencyStore(IdempotencyStore):
    """The adapter: a DynamoDB table keyed on ``id`` with TTL on ``TTL_ATTRIBUTE``."""

    def __init__(self, client: Any, table: str, *, ttl_s: int) -> None:
        self._client = client
        self._table = table
        self._ttl_s = ttl_s

    def lookup(self, keys: Sequence[str]) -> dict[str, Seen]:
        found: dict[str, Seen] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _GET_CHUNK):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [{"id": {"S": k}} for k in unique[start : start + _GET_CHUNK]],
                    "ConsistentRead": True,
                    "ProjectionExpression": f"id, #s, in_progress_expiry, {TTL_ATTRIBUTE}",
                    "ExpressionAttributeNames": {"#s": "status"},
                }
            }
            for attempt in range(_ATTEMPTS):
                answer = self._client.batch_get_item(RequestItems=request)
                now = int(time.time())
                for item in answer.get("Responses", {}).get(self._table, []):
                    if int(item.get(TTL_ATTRIBUTE, {}).get("N", "0")) > now:
                        found[item["id"]["S"]] = _seen(item)
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                _pause(attempt)
        return found

    def claim(self, key: str, owner: str, until_ms: int) -> Verdict:
        now_ms = int(time.time() * 1000)
        item = {
            "id": {"S": key},
            "status": {"S": IN_PROGRESS},
            OWNER_ATTRIBUTE: {"S": owner},
            "in_progress_expiry": {"N": str(until_ms)},
            TTL_ATTRIBUTE: {"N": str(now_ms // 1000 + self._ttl_s)},
        }
        return self._take(item, now_ms, until_ms)

    def complete_first(self, key: str) -> Verdict:
        now_ms = int(time.time() * 1000)
        return self._take(self._completed_item(key), now_ms, now_ms)

    def _take(self, item: dict[str, Any], now_ms: int, guess_ms: int) -> Verdict:
        """Write ``item`` if its key is free; else who has it (``guess_ms``: the holder's
        expiry when the refusal does not say)."""
        try:
            self._client.put_item(
                Item=item,
                **_if_free(self._table, now_ms),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _REFUSED:
                raise
            old: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
            if not old:  # gone meanwhile: held by whoever wrote last, for as long as ours
                return Verdict(Claim.IN_PROGRESS, guess_ms)
            seen = _seen(old)
            if seen.claim(now_ms) is Claim.DUPLICATE:
                return Verdict(Claim.DUPLICATE)
            # The write was refused: whatever the old item looks like now, this is no claim.
            return Verdict(Claim.IN_PROGRESS, seen.in_progress_expiry_ms)
        return Verdict(Claim.CLAIMED)

    def _completed_item(self, key: str) -> dict[str, Any]:
        expiration = str(int(time.time()) + self._ttl_s)
        return {"id": {"S": key}, "status": {"S": COMPLETED}, TTL_ATTRIBUTE: {"N": expiration}}

    def complete(self, key: str, owner: str) -> Held:
        return self._as_holder(
            owner, lambda held: self._client.put_item(Item=self._completed_item(key), **held)
        )

    def completion(self, key: str, owner: str) -> dict[str, Any]:
        return {
            "Put": {
                "Item": self._completed_item(key),
                **_held_by(self._table, owner),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def first_completion(self, key: str) -> dict[str, Any]:
        return {
            "Put": {
                "Item": self._completed_item(key),
                **_if_free(self._table, int(time.time() * 1000)),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def extend(self, key: str, owner: str, until_ms: int) -> Held:
        return self._as_holder(
            owner,
            lambda held: self._client.update_item(
                Key={"id": {"S": key}},
                UpdateExpression="SET in_progress_expiry = :until",
                **_with_value(held, ":until", {"N": str(until_ms)}),
            ),
        )

    def settle(self, completed: Mapping[str, str], released: Mapping[str, str]) -> Settled:
        settled = Settled([], [], [])
        for key, owner in completed.items():
            try:
                held = self.complete(key, owner)
            except Exception:  # this key only: the others are still written
                settled.unwritten.append(key)
                continue
            if held is Held.LOST:
                settled.lost.append(key)
            elif held is Held.COMPLETED:
                settled.completed_elsewhere.append(key)
        for key, owner in released.items():
            try:
                self._forget(key, owner)
            except Exception:
                settled.unwritten.append(key)
        return settled

    def abandon(self, leases: Mapping[str, str]) -> int:
        forgotten = 0
        for key, owner in leases.items():
            try:
                forgotten += self._forget(key, owner) is Held.HELD
            except Exception:  # this one lapses with its lease instead
                continue
        return forgotten

    def _forget(self, key: str, owner: str) -> Held:
        """Delete the lease if ``owner`` holds it (a completed key, or another's, stays)."""
        return self._as_holder(
            owner, lambda held: self._client.delete_item(Key={"id": {"S": key}}, **held)
        )

    def _as_holder(self, owner: str, write: Any) -> Held:
        """Make ``write`` conditioned on the lease; what the refusal says, if refused."""
        try:
            write(_held_by(self._table, owner) | {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _REFUSED:
                raise
            return refusal(exc.response.get("Item"))  # type: ignore[arg-type]
        return Held.HELD


def _seen(item: Mapping[str, Any]) -> Seen:
    return Seen(
        status=item.get("status", {}).get("S", IN_PROGRESS),
        in_progress_expiry_ms=int(item.get("in_progress_expiry", {}).get("N", "0")),
    )


def held_until(old: Mapping[str, Any] | None) -> int:
    """When the lease on a refused write's old item lapses (epoch ms; 0 if none was said)."""
    return _seen(old).in_progress_expiry_ms if old else 0


def _if_free(table: str, now_ms: int) -> dict[str, Any]:
    """The table and condition of a write that takes a key: no item, one past its TTL, or a
    lease that has lapsed (a completed key, or another's live lease, refuses it)."""
    return {
        "TableName": table,
        "ConditionExpression": _FREE,
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {
            ":now_s": {"N": str(now_ms // 1000)},
            ":now_ms": {"N": str(now_ms)},
            ":in_progress": {"S": IN_PROGRESS},
        },
    }


def refusal(old: Mapping[str, Any] | None) -> Held:
    """What a holder's refused write met: a completion, or a lease that is not its own."""
    return Held.COMPLETED if old and _seen(old).status == COMPLETED else Held.LOST


def _held_by(table: str, owner: str) -> dict[str, Any]:
    """The table and condition of a write only the lease's ``owner`` may make."""
    return {
        "TableName": table,
        "ConditionExpression": _HELD_BY,
        "ExpressionAttributeNames": {"#s": "status", "#o": OWNER_ATTRIBUTE},
        "ExpressionAttributeValues": {
            ":in_progress": {"S": IN_PROGRESS},
            ":owner": {"S": owner},
        },
    }


def _with_value(request: dict[str, Any], name: str, value: dict[str, Any]) -> dict[str, Any]:
    """``request`` with one more expression attribute value."""
    values = request["ExpressionAttributeValues"] | {name: value}
    return request | {"ExpressionAttributeValues": values}


def _pause(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0))
