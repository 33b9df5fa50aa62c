"""Handing records back at the end of a drain, without spending a healthy event's budget.

A record handed back with visibility 0 is received again at once, and that receive counts
against the queue's ``maxReceiveCount``. Where it would be the one that dead-letters the
event (the message has been received ``maxReceiveCount`` times already), a standard queue's
message is sent again as a fresh copy and only then deleted: a new message, its receive
count 0, the same body and attributes, so the envelope id keeps its effect to one. A FIFO
message cannot be copied without moving it behind its own group, so it is handed back as it
is, with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sluice.runtime.sqs_event import change_visibility

Log = Callable[..., None]


@dataclass(frozen=True, slots=True)
class HandedBack:
    """How the drain gave its unfinished records back."""

    visible: int
    """Made visible again at once (visibility 0)."""
    requeued: int
    """Sent again as fresh copies, then deleted (their next receive would dead-letter them)."""

    @property
    def total(self) -> int:
        """Every record handed back."""
        return self.visible + self.requeued


def max_receives(attributes: dict[str, str]) -> int | None:
    """The queue's ``maxReceiveCount``, from its ``RedrivePolicy`` (None: no DLQ)."""
    policy = attributes.get("RedrivePolicy")
    if not policy:
        return None
    return int(json.loads(policy)["maxReceiveCount"])


def hand_back(
    sqs: Any,
    queue_url: str,
    messages: Sequence[dict[str, Any]],
    *,
    limit: int | None,
    fifo: bool,
    warn: Log,
) -> HandedBack:
    """Give ``messages`` (as received) back to the queue for another consumer to run now."""
    last = [m for m in messages if limit is not None and _receives(m) >= limit]
    if fifo and last:
        warn(
            "handed back on its last receive; a FIFO message cannot be copied in its place",
            message_ids=[m["MessageId"] for m in last],
        )
        last = []
    requeued = [m for m in last if _requeue(sqs, queue_url, m, warn)]
    kept = {m["ReceiptHandle"] for m in requeued}
    rest = [m["ReceiptHandle"] for m in messages if m["ReceiptHandle"] not in kept]
    visible = change_visibility(sqs, queue_url, rest, 0) if rest else 0
    return HandedBack(visible=visible, requeued=len(requeued))


def _receives(message: dict[str, Any]) -> int:
    return int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))


def _requeue(sqs: Any, queue_url: str, message: dict[str, Any], warn: Log) -> bool:
    """Send a fresh copy, then delete the original: never the other way round."""
    attributes = message.get("MessageAttributes")  # as received: SendMessage's own shape
    try:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=message["Body"],
            **({"MessageAttributes": attributes} if attributes else {}),
        )
    except Exception as exc:  # the original is still there: hand it back instead
        warn("could not requeue; handed back instead", error=f"{type(exc).__name__}: {exc}")
        return False
    try:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    except Exception as exc:  # two copies now: the envelope id keeps the effect to one
        warn("requeued, but the original was not deleted", error=f"{type(exc).__name__}: {exc}")
    return True
