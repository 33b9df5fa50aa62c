"""Middleware wraps every record: it can veto it, fail it after the fact, or just watch."""

from __future__ import annotations

from typing import Any

import pytest

from events import CATALOG, ORDER_PLACED
from sluice.core import Envelope
from sluice.runtime import ConfigurationError, Middleware, PermanentError, RetryableError, worker
from sluice.runtime.middleware import load_middleware
from tests.conftest import Pipeline
from tests.factories import placed, sqs_event, sqs_record

QUEUE = "sluice-inventory"


class Veto(Middleware):
    """Fails chosen orders before they run."""

    def __init__(self) -> None:
        self.after: list[tuple[str, str | None]] = []

    def before_record(self, worker: str, envelope: Envelope[Any]) -> None:
        if envelope.data.order_id == "transient":
            raise RetryableError("injected")
        if envelope.data.order_id == "poison":
            raise PermanentError("injected poison", reason="injected")

    def after_record(self, worker: str, envelope: Envelope[Any], error: Exception | None) -> None:
        self.after.append((envelope.data.order_id, type(error).__name__ if error else None))


def test_middleware_can_veto_records_and_sees_every_outcome(pipeline: Pipeline) -> None:
    ran: list[str] = []

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="watched", max_concurrency=1)
    def watched(event: Envelope[Any]) -> None:
        ran.append(event.data.order_id)
        if event.data.order_id == "raises":
            raise ValueError("boom")

    veto = Veto()
    deps = pipeline.deps("watched")
    deps.middleware = (veto,)
    records = [sqs_record(placed(o), queue=QUEUE) for o in ("ok", "transient", "poison", "raises")]
    answer = watched.use(deps).handler(sqs_event(*records), None)
    assert ran == ["ok", "raises"]
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": records[i]["messageId"]} for i in (1, 3)]
    }
    assert veto.after == [("ok", None), ("raises", "ValueError")]
    [letter] = pipeline.drain("sluice-inventory-dlq")
    assert letter["MessageAttributes"]["sluice.failure_reason"]["StringValue"] == "injected"


def not_middleware() -> object:
    """A factory that makes the wrong thing."""
    return object()


def test_middleware_loads_from_configuration() -> None:
    [loaded] = load_middleware("tests.functional.test_middleware:Veto")
    assert isinstance(loaded, Veto)
    with pytest.raises(ConfigurationError, match=r"use 'package\.module:factory'"):
        load_middleware("no.such.module:thing")
    with pytest.raises(ConfigurationError, match="did not return a Middleware"):
        load_middleware("tests.functional.test_middleware:not_middleware")


def test_a_comma_list_loads_each_in_order_and_skips_blank_entries() -> None:
    # catches: splitting on anything but commas, or stopping at the first blank entry
    veto = "tests.functional.test_middleware:Veto"
    loaded = load_middleware(f" {veto}, ,{veto} ")
    assert len(loaded) == 2 and all(isinstance(m, Veto) for m in loaded)
    assert loaded[0] is not loaded[1]


class Names(Middleware):
    """Remembers the worker each hook was called for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def before_record(self, worker: str, envelope: Envelope[Any]) -> None:
        self.calls.append(("before", worker, envelope.data.order_id))

    def after_record(self, worker: str, envelope: Envelope[Any], error: Exception | None) -> None:
        self.calls.append(("after", worker, envelope.data.order_id))


def test_middleware_is_told_which_worker_runs_each_record(pipeline: Pipeline) -> None:
    # one middleware may serve several workers (it is configured per process)
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="named", max_concurrency=1)
    def named(event: Envelope[Any]) -> None:
        if event.data.order_id == "raises":
            raise ValueError("boom")

    names = Names()
    deps = pipeline.deps("named")
    deps.middleware = (names,)
    records = [sqs_record(placed(o), queue=QUEUE) for o in ("ok", "raises")]
    named.use(deps).handler(sqs_event(*records), None)
    assert names.calls == [
        ("before", "named", "ok"),
        ("after", "named", "ok"),
        ("before", "named", "raises"),
        ("after", "named", "raises"),
    ]
