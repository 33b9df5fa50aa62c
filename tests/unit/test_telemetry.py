"""Tracing is opt-in and builds one subsegment per record with the record's keys."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sluice.runtime import Telemetry
from sluice.runtime.telemetry import BatchCounts


class FakeSegment:
    """Collects annotations."""

    def __init__(self) -> None:
        self.annotations: dict[str, str] = {}

    def put_annotation(self, key: str, value: str) -> None:
        self.annotations[key] = value


class FakeProvider:
    """Records every subsegment opened."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, FakeSegment]] = []

    @contextmanager
    def in_subsegment(self, name: str) -> Iterator[FakeSegment]:
        segment = FakeSegment()
        self.opened.append((name, segment))
        yield segment


class FakeTracer:
    def __init__(self) -> None:
        self.provider = FakeProvider()


def test_tracing_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLUICE_TRACING", raising=False)
    assert Telemetry.for_worker("w", stream=io.StringIO()).tracing is False
    monkeypatch.setenv("SLUICE_TRACING", "true")
    assert Telemetry.for_worker("w", stream=io.StringIO()).tracing is True


def test_each_record_gets_a_subsegment_annotated_with_its_keys() -> None:
    telemetry = Telemetry.for_worker("inventory", stream=io.StringIO(), tracing=True)
    tracer: Any = FakeTracer()
    telemetry.tracer = tracer
    with telemetry.record_scope(correlation_id="c-1", event_type="order.placed"):
        pass
    [(name, segment)] = tracer.provider.opened
    assert name == "## inventory record"
    assert segment.annotations == {"correlation_id": "c-1", "event_type": "order.placed"}


def test_a_batch_keeps_its_oldest_age_when_a_later_record_has_none() -> None:
    counts = BatchCounts()
    for age_ms in (5, None, 3, 9, None):
        counts.saw_age(age_ms)
    assert counts.oldest_age_ms == 9
    assert BatchCounts().oldest_age_ms is None


@pytest.mark.parametrize(
    "message",
    ["record finished", "", "nope {", '{"a": 1}', " [1, 2]", "123", "-1.5", "true", "null", "NaN"],
)
def test_a_log_message_reads_as_powertools_reads_it(message: str) -> None:
    import json

    from sluice.runtime.telemetry import message_as_json

    try:
        expected: Any = json.loads(message)
    except ValueError:
        expected = message
    got = message_as_json(message)
    assert got == expected or (got != got and expected != expected)  # NaN


def test_a_plain_log_message_is_not_parsed_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from sluice.runtime import telemetry

    def refuse(text: str) -> Any:
        raise AssertionError(f"parsed {text!r}")

    monkeypatch.setattr(json, "loads", refuse)
    assert telemetry.message_as_json("queue delivered") == "queue delivered"


class _Counting(io.StringIO):
    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_lines_logged_together_read_as_lines_logged_one_by_one_in_one_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json
    import logging

    monkeypatch.setattr(logging.root, "handlers", [])  # nothing else to reach (pytest's own)
    stream = _Counting()
    telemetry = Telemetry.for_worker("together", stream=stream)
    lines = [{"message_id": "a", "queued_ms": 1.5}, {"message_id": "b", "queued_ms": 2.0}]
    telemetry.info_each("queue delivered", lines)
    assert stream.writes == 1
    for line in lines:
        telemetry.logger.info("queue delivered", extra=line)
    got = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert {g.pop("location").split(":")[0] for g in got} == {
        "test_lines_logged_together_read_as_lines_logged_one_by_one_in_one_write"
    }
    for g in got:
        g.pop("timestamp")
    assert got[:2] == got[2:] and [g["message_id"] for g in got[:2]] == ["a", "b"]


def test_lines_logged_together_still_reach_every_other_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    telemetry = Telemetry.for_worker("together-too", stream=io.StringIO())
    with caplog.at_level("INFO"):
        telemetry.info_each("queue delivered", [{"message_id": "a"}, {"message_id": "b"}])
    assert [r.message_id for r in caplog.records] == ["a", "b"]  # type: ignore[attr-defined]
