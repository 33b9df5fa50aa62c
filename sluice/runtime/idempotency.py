"""Exactly-once effects over at-least-once delivery, with fewer DynamoDB requests.

Keyed on ``<worker>#<Envelope.id>``, never on the SQS messageId: SNS may deliver one
message twice, and the copies reach SQS under different message ids.

- One BatchGetItem per batch finds the ids already done: a duplicate costs no write.
- One conditional PutItem claims each new id (in progress, expiring with the invocation).
- Completion rides inside the record's own effect when the worker writes its effect with
  ``deps.transact(...)``: effect and completion commit atomically, so even a crash between
  them cannot double an effect, and completion costs no request of its own. Otherwise one
  PutItem marks it complete right after the function returns.
- Failed ids are released in one BatchWriteItem at the end, so a retry may claim them.
- A consumer that gives up records still running (``sluice work`` past its drain deadline,
  just before it exits) abandons their claims, so the copies it hands back run at once.

Powertools spends PutItem + UpdateItem per new record and a PutItem per duplicate; see
``bench/`` for both, side by side.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
TTL_ATTRIBUTE = "expiration"
"""The item attribute DynamoDB's TTL reads (epoch seconds); the table is declared with it."""
_GET_CHUNK = 100
_WRITE_CHUNK = 25
_ATTEMPTS = 5


class Claim(Enum):
    """The answer to "may I run this event?"."""

    CLAIMED = "claimed"
    DUPLICATE = "duplicate"
    IN_PROGRESS = "in_progress"


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
    """The port: four small operations over a key-value table."""

    def lookup(self, keys: Sequence[str]) -> dict[str, Seen]:
        """What is known of ``keys`` (absent keys are new)."""
        raise NotImplementedError

    def claim(self, key: str, in_progress_until_ms: int) -> Claim:
        """Atomically mark ``key`` in progress unless it is completed or held by another."""
        raise NotImplementedError

    def complete(self, key: str) -> None:
        """Mark one key completed."""
        raise NotImplementedError

    def completion(self, key: str) -> dict[str, Any]:
        """A TransactWriteItems entry that completes ``key`` unless it is already completed."""
        raise NotImplementedError

    def settle(self, completed: Iterable[str], released: Iterable[str]) -> list[str]:
        """Mark ``completed`` done and forget ``released``; returns keys it could not write."""
        raise NotImplementedError

    def abandon(self, keys: Iterable[str]) -> int:
        """Forget the claims on ``keys`` still in progress (a completed key stays); how many."""
        raise NotImplementedError


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

    def claim(self, key: str, in_progress_until_ms: int) -> Claim:
        now_ms = int(time.time() * 1000)
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": key},
                    "status": {"S": IN_PROGRESS},
                    "in_progress_expiry": {"N": str(in_progress_until_ms)},
                    TTL_ATTRIBUTE: {"N": str(now_ms // 1000 + self._ttl_s)},
                },
                ConditionExpression=(
                    f"attribute_not_exists(id) OR {TTL_ATTRIBUTE} < :now_s "
                    "OR (#s = :in_progress AND in_progress_expiry < :now_ms)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":now_s": {"N": str(now_ms // 1000)},
                    ":now_ms": {"N": str(now_ms)},
                    ":in_progress": {"S": IN_PROGRESS},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
            seen = _seen(old).claim(now_ms) if old else Claim.IN_PROGRESS
            # The write was refused: whatever the old item looks like now, this is no claim.
            return Claim.IN_PROGRESS if seen is Claim.CLAIMED else seen
        return Claim.CLAIMED

    def _completed_item(self, key: str) -> dict[str, Any]:
        expiration = str(int(time.time()) + self._ttl_s)
        return {"id": {"S": key}, "status": {"S": COMPLETED}, TTL_ATTRIBUTE: {"N": expiration}}

    def complete(self, key: str) -> None:
        self._client.put_item(TableName=self._table, Item=self._completed_item(key))

    def completion(self, key: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": self._completed_item(key),
                "ConditionExpression": "attribute_not_exists(id) OR #s <> :completed",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":completed": {"S": COMPLETED}},
            }
        }

    def settle(self, completed: Iterable[str], released: Iterable[str]) -> list[str]:
        writes: list[dict[str, Any]] = [
            {"PutRequest": {"Item": self._completed_item(k)}} for k in dict.fromkeys(completed)
        ]
        writes += [{"DeleteRequest": {"Key": {"id": {"S": k}}}} for k in dict.fromkeys(released)]
        left: list[dict[str, Any]] = []
        for start in range(0, len(writes), _WRITE_CHUNK):
            left += self._write(writes[start : start + _WRITE_CHUNK])
        return [_write_key(w) for w in left]

    def abandon(self, keys: Iterable[str]) -> int:
        forgotten = 0
        for key in dict.fromkeys(keys):
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key={"id": {"S": key}},
                    ConditionExpression="#s = :in_progress",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":in_progress": {"S": IN_PROGRESS}},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue  # completed meanwhile, or never ours to forget
            forgotten += 1
        return forgotten

    def _write(self, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for attempt in range(_ATTEMPTS):
            answer = self._client.batch_write_item(RequestItems={self._table: chunk})
            chunk = answer.get("UnprocessedItems", {}).get(self._table, [])
            if not chunk:
                return []
            _pause(attempt)
        return chunk


def _seen(item: dict[str, Any]) -> Seen:
    return Seen(
        status=item.get("status", {}).get("S", IN_PROGRESS),
        in_progress_expiry_ms=int(item.get("in_progress_expiry", {}).get("N", "0")),
    )


def _write_key(write: dict[str, Any]) -> str:
    body = write.get("PutRequest", {}).get("Item") or write["DeleteRequest"]["Key"]
    return str(body["id"]["S"])


def _pause(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0))
