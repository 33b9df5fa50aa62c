"""A record's DynamoDB effects, committed atomically with its idempotency completion."""

from __future__ import annotations

import random
import time
from typing import Any

from botocore.exceptions import ClientError

from sluice.runtime.errors import PermanentError
from sluice.runtime.idempotency import (
    Held,
    IdempotencyStore,
    LeaseLostError,
    held_until,
    refusal,
)

MAX_ITEMS = 100
"""TransactWriteItems' limit on the items of one transaction."""


class AlreadyAppliedError(Exception):
    """The event was completed by another invocation first; this effect was not applied."""


class HeldElsewhereError(Exception):
    """Another invocation holds a live claim on the event; this effect was not applied."""

    def __init__(self, key: str, until_ms: int) -> None:
        super().__init__(key)
        self.until_ms = until_ms
        """When the holder's lease lapses (epoch ms)."""


class Effects:
    """``transact()`` for one record: the worker's writes plus "this event is done".

    DynamoDB commits all of them or none, so an effect is never applied without its
    completion, nor twice, nor by a holder whose lease was taken over (``LeaseLostError``).
    Without an idempotency store it is a plain TransactWriteItems. Without an ``owner``
    (a ``transact_only`` worker, which writes no claim) the completion takes the event if it
    is new, so a copy's transaction is refused (``AlreadyAppliedError``, or
    ``HeldElsewhereError`` while a claimed run of it is in progress).
    """

    def __init__(
        self, db: Any, store: IdempotencyStore | None = None, key: str = "", owner: str = ""
    ) -> None:
        self._db = db
        self._store = store
        self._key = key
        self._owner = owner
        self.committed = False

    def transact(self, items: list[dict[str, Any]]) -> None:
        """Run TransactWriteItems; with a claim, the completion is the last item.

        More than ``MAX_ITEMS`` items (the completion counted) is a PermanentError: DynamoDB
        would refuse that transaction on every retry.
        """
        total = len(items) + (self._store is not None)
        if total > MAX_ITEMS:
            completion = " with the idempotency completion" if self._store is not None else ""
            raise PermanentError(
                f"the effect is {total} items{completion}; TransactWriteItems takes at most "
                f"{MAX_ITEMS}. Split the event, or write the effect in steps that are each "
                "idempotent",
                reason="effect_too_large",
            )
        if self._store is None:
            _write(self._db, items)
            return
        if self.committed:
            raise RuntimeError("a record's effects are committed once: use one transact() call")
        store, key, owner = self._store, self._key, self._owner
        last = store.completion(key, owner) if owner else store.first_completion(key)
        try:
            _write(self._db, [*items, last])
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[-1].get("Code") == "ConditionalCheckFailed":
                old = reasons[-1].get("Item")
                if refusal(old) is Held.COMPLETED:
                    raise AlreadyAppliedError(key) from exc
                if not owner:
                    raise HeldElsewhereError(key, held_until(old)) from exc
                raise LeaseLostError(key) from exc
            raise
        self.committed = True


_CONFLICT_ATTEMPTS = 4


def _write(db: Any, items: list[dict[str, Any]]) -> None:
    """TransactWriteItems, retried (jittered) while it only lost a race to another
    transaction on the same item: records of one batch often touch the same hot item."""
    for attempt in range(_CONFLICT_ATTEMPTS):
        try:
            db.transact_write_items(TransactItems=items)
            return
        except ClientError as exc:
            codes = {r.get("Code") for r in exc.response.get("CancellationReasons") or []}
            if "TransactionConflict" not in codes or "ConditionalCheckFailed" in codes:
                raise
            if attempt == _CONFLICT_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.01, 0.05 * 2**attempt))
