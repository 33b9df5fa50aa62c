"""The visibility heartbeat: it extends what is in progress, and lets go at the hard cap."""

from __future__ import annotations

import threading
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
    assert all(len({e["Id"] for e in c}) == len(c) for c in sqs.calls), "ids unique per call"
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


class Warnings:
    """The heartbeat's warnings, with their fields."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, message: str, **fields: Any) -> None:
        self.seen.append((message, fields))


class UrlSqs(FakeSqs):
    """Also records the queue each extension was sent to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def change_message_visibility_batch(self, **request: Any) -> dict[str, Any]:
        self.urls.append(request["QueueUrl"])
        return super().change_message_visibility_batch(**request)


def test_extensions_go_to_the_heartbeats_queue_and_are_counted_across_beats() -> None:
    sqs = UrlSqs()
    beat = Heartbeat(sqs, "https://sqs/q", visibility_s=30, cap_s=60, warn=Warnings())
    beat.track(["a", "b"])
    beat.beat()
    beat.beat()
    assert sqs.urls == ["https://sqs/q", "https://sqs/q"]
    assert beat.extensions == 4


def test_every_message_let_go_at_the_cap_is_counted_and_warned_with_its_count() -> None:
    warned = Warnings()
    beat = Heartbeat(FakeSqs(), "url", visibility_s=30, cap_s=0.05, warn=warned)
    beat.track(["a", "b"])
    time.sleep(0.1)
    beat.beat()
    beat.track(["c"])
    time.sleep(0.1)
    beat.beat()
    assert beat.released == 3
    cap = "heartbeat cap reached; the message is let go"
    assert warned.seen == [(cap, {"count": 2}), (cap, {"count": 1})]


class DownSqs:
    def change_message_visibility_batch(self, **request: Any) -> dict[str, Any]:
        raise RuntimeError("sqs is down")


def test_a_failed_extension_is_warned_with_its_error_and_tried_again_next_round() -> None:
    warned = Warnings()
    beat = Heartbeat(DownSqs(), "url", visibility_s=30, cap_s=60, warn=warned)
    beat.track(["a"])
    beat.beat()
    assert warned.seen == [("visibility heartbeat failed", {"error": "RuntimeError: sqs is down"})]
    assert beat.held() == ["a"] and beat.extensions == 0


def test_untracking_a_message_never_tracked_is_harmless() -> None:
    beat = Heartbeat(FakeSqs(), "url", visibility_s=30, cap_s=60, warn=Warnings())
    beat.track(["a"])
    beat.untrack(["a", "never"])
    assert beat.held() == []


def test_a_beat_comes_every_third_of_the_visibility_timeout_and_at_most_five_a_second() -> None:
    assert Heartbeat(FakeSqs(), "url", visibility_s=30, cap_s=60, warn=Warnings()).period_s == 10
    assert Heartbeat(FakeSqs(), "url", visibility_s=0, cap_s=60, warn=Warnings()).period_s == 0.2


def test_a_started_heartbeat_extends_and_renews_on_daemon_threads_until_stopped() -> None:
    # GIVEN a started heartbeat (a beat every 0.2 s) whose lease renewal fails
    sqs, warned, renewals = FakeSqs(), Warnings(), []

    def renew() -> None:
        renewals.append(time.monotonic())
        raise RuntimeError("table is gone")

    beat = Heartbeat(sqs, "url", visibility_s=0, cap_s=60, warn=warned, renew=renew)
    beat.track(["a"])
    beat.start()
    try:
        # THEN it runs on two named daemon threads (a stopping process never waits for them)
        threads = {t.name: t for t in threading.enumerate() if t.name in ("heartbeat", "renew")}
        assert sorted(threads) == ["heartbeat", "renew"]
        assert all(t.daemon for t in threads.values())
        # AND it extends the tracked message and renews, round after round
        deadline = time.monotonic() + 5
        while (len(sqs.calls) < 2 or len(renewals) < 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sqs.calls) >= 2 and len(renewals) >= 2
        assert ("lease renewal failed", {"error": "RuntimeError: table is gone"}) in warned.seen
    finally:
        beat.stop()
    # AND once stopped, it extends no more
    assert not threads["heartbeat"].is_alive()
    calls = len(sqs.calls)
    time.sleep(0.3)
    assert len(sqs.calls) == calls
