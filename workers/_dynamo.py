"""Small helpers the example workers share for their DynamoDB effects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

Transact = Callable[[list[dict[str, Any]]], None]
"""``Deps.transact``: writes committed atomically with the record's idempotency completion."""


def cancelled_reasons(exc: ClientError) -> list[str]:
    """The per-item codes of a cancelled transaction ("None" for items that were fine)."""
    reasons = exc.response.get("CancellationReasons") or []
    return [str(r.get("Code", "None")) for r in reasons]


def is_condition_failure(exc: ClientError) -> bool:
    """True if a write failed only because a condition did not hold."""
    code = exc.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        return "ConditionalCheckFailed" in cancelled_reasons(exc)
    return False


def number(value: int) -> dict[str, Any]:
    """A DynamoDB number attribute."""
    return {"N": str(value)}
