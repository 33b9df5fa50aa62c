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
