"""Walk a queue once: receive every message, hold it while the caller decides, never lose one.

A received message stays invisible ("held") until the caller deletes or releases it. Held
messages are released (made visible at once) when the pass ends, whatever ends it, and kept
invisible in the meantime by extending their visibility. If the process dies, SQS makes
them visible again after ``hold_s`` seconds at most: nothing is ever lost by looking.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

from sluice.ops.messages import RECEIVE_ATTRIBUTES, DlqMessage

_BATCH = 10


class Scanner:
    """One pass over a queue, in batches of up to 10 messages never seen before in the pass."""

    def __init__(self, sqs: Any, url: str, *, hold_s: int = 30, wait_s: int = 0) -> None:
        self.sqs = sqs
        self.url = url
        self.hold_s = hold_s
        self.wait_s = wait_s
        self._seen: set[str] = set()
        self._held: dict[str, tuple[DlqMessage, float]] = {}

    def __enter__(self) -> Scanner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def batches(self, limit: int | None = None) -> Iterator[list[DlqMessage]]:
        """Fresh messages, batch by batch, until the queue has none left to show."""
        while True:
            self._heartbeat()
            want = _BATCH if limit is None else min(_BATCH, limit - len(self._seen))
            if want <= 0:
                return
            got = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=want,
                VisibilityTimeout=self.hold_s,
                WaitTimeSeconds=self.wait_s,
                **RECEIVE_ATTRIBUTES,
            ).get("Messages", [])
            fresh = []
            for raw in got:
                message = DlqMessage.from_sqs(raw)
                if message.message_id in self._seen:
                    # Seen earlier in this pass (its hold lapsed): show it again later, not now.
                    self.release([message])
                    continue
                self._seen.add(message.message_id)
                self._held[message.message_id] = (message, time.monotonic())
                fresh.append(message)
            if not fresh:
                return
            yield fresh

    def delete(self, messages: list[DlqMessage]) -> list[DlqMessage]:
        """Delete messages; returns those SQS refused (they stay held, then released)."""
        refused = self._batched(
            "delete_message_batch",
            messages,
            lambda m: {"ReceiptHandle": m.receipt_handle},
        )
        for message in messages:
            if message not in refused:
                self._held.pop(message.message_id, None)
        return refused

    def release(self, messages: Iterable[DlqMessage]) -> None:
        """Make messages visible again now, as if never received (receive count aside)."""
        listed = list(messages)
        self._batched(
            "change_message_visibility_batch",
            listed,
            lambda m: {"ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0},
        )
        for message in listed:
            self._held.pop(message.message_id, None)

    def close(self) -> None:
        """Release everything still held."""
        self.release([message for message, _ in self._held.values()])

    def _heartbeat(self) -> None:
        """Keep held messages invisible while the pass lasts."""
        now = time.monotonic()
        due = [m for m, since in self._held.values() if now - since > self.hold_s / 2]
        self._batched(
            "change_message_visibility_batch",
            due,
            lambda m: {"ReceiptHandle": m.receipt_handle, "VisibilityTimeout": self.hold_s},
        )
        for message in due:
            self._held[message.message_id] = (message, now)

    def _batched(self, action: str, messages: list[DlqMessage], entry: Any) -> list[DlqMessage]:
        refused: list[DlqMessage] = []
        for start in range(0, len(messages), _BATCH):
            chunk = messages[start : start + _BATCH]
            answer = getattr(self.sqs, action)(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), **entry(m)} for i, m in enumerate(chunk)],
            )
            refused += [chunk[int(f["Id"])] for f in answer.get("Failed", [])]
        return refused
