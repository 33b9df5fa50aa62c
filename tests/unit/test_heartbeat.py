"""The visibility heartbeat: it extends what is in progress, and lets go at the hard cap."""

from __future__ import annotations

import time
from typing import Any

from sluice.container.heartbeat import Heartbeat


class FakeSqs:
    """Records each ChangeMessageVisibilityBatch and accepts every entry."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []

    def change_message_visibility_batch(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request["Entries"])
        return {"Successful": [{"Id": e["Id"]} for e in request["Entries"]]}


def test_a_beat_extends_every_tracked_message_to_the_full_timeout() -> None:
    sqs, warned = FakeSqs(), []
    beat = Heartbeat(sqs, "url", visibility_s=30, cap_s=60, warn=lambda m, **f: warned.append(m))
    beat.track([f"h{i}" for i in range(12)])

    beat.beat()

    assert [len(c) for c in sqs.calls] == [10, 2]
    assert {e["VisibilityTimeout"] for c in sqs.calls for e in c} == {30}
    assert beat.extensions == 12 and not warned


def test_past_the_cap_a_message_is_let_go_and_never_extended_again() -> None:
    sqs, warned = FakeSqs(), []
    beat = Heartbeat(sqs, "url", visibility_s=30, cap_s=0.5, warn=lambda m, **f: warned.append(m))
    beat.track(["old"])
    time.sleep(0.6)
    beat.track(["young"])

    beat.beat()
    beat.beat()

    extended = [e["ReceiptHandle"] for c in sqs.calls for e in c]
    assert extended == ["young", "young"], "the old one was let go, the young one kept"
    assert beat.held() == ["young"]
    assert beat.released == 1
    assert warned == ["heartbeat cap reached; the message is let go"]


def test_settled_messages_are_no_longer_extended() -> None:
    sqs = FakeSqs()
    beat = Heartbeat(sqs, "url", visibility_s=30, cap_s=60, warn=lambda m, **f: None)
    beat.track(["a", "b"])
    beat.untrack(["a"])

    beat.beat()

    assert [e["ReceiptHandle"] for c in sqs.calls for e in c] == ["b"]
