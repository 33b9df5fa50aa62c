"""The EMF metrics the README promises: one document per batch, dimensioned by worker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from events import CATALOG, ORDER_PLACED
from sluice.core import Envelope
from sluice.runtime import PermanentError, RetryableError, worker
from tests.conftest import Pipeline
from tests.factories import placed, sqs_event, sqs_record

QUEUE = "sluice-inventory"


def emf_documents(text: str) -> list[dict[str, Any]]:
    """Every EMF document printed (one JSON object per line carrying ``_aws``)."""
    found = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            found.append(json.loads(line))
    return found


def test_a_batch_reports_processed_failed_duplicates_permanent_and_age(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a worker that applies one record, retries one and refuses one for good
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="metered", max_concurrency=1)
    def metered(event: Envelope[Any]) -> None:
        if event.data.order_id == "retry":
            raise RetryableError("later")
        if event.data.order_id == "refuse":
            raise PermanentError("never")

    deps = pipeline.deps("metered")
    deps.telemetry.metrics_enabled = True
    wired = metered.use(deps)
    done = placed("done")
    wired.handler(sqs_event(sqs_record(done, queue=QUEUE)), None)
    capsys.readouterr()
    # WHEN one batch holds a duplicate of it, a new record, a retry and a permanent failure
    batch = sqs_event(
        sqs_record(done, queue=QUEUE),
        sqs_record(placed("fresh"), queue=QUEUE),
        sqs_record(placed("retry"), queue=QUEUE),
        sqs_record(placed("refuse"), queue=QUEUE),
    )
    wired.handler(batch, None)
    # THEN one EMF document names each figure, dimensioned by the worker
    [doc] = emf_documents(capsys.readouterr().out)
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Sluice"
    assert directive["Dimensions"] == [["worker"]]
    names = {metric["Name"] for metric in directive["Metrics"]}
    assert {"Processed", "Failed", "Duplicates", "PermanentFailures", "MessageAge"} <= names
    assert doc["worker"] == "metered"
    figures = ("Processed", "Failed", "Duplicates", "PermanentFailures")
    assert {name: doc[name] for name in figures} == {name: [1.0] for name in figures}
    assert doc["MessageAge"][0] >= 0
    units = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
    assert units == {**dict.fromkeys(figures, "Count"), "MessageAge": "Milliseconds"}


def test_records_left_unstarted_for_lack_of_time_are_counted_as_skipped(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    class Late:
        def get_remaining_time_in_millis(self) -> int:
            return 1_000

    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="hurried", timeout_margin_s=3)
    def hurried(event: Envelope[Any]) -> None: ...

    deps = pipeline.deps("hurried")
    deps.telemetry.metrics_enabled = True
    batch = sqs_event(*(sqs_record(placed(), queue=QUEUE) for _ in range(2)))
    capsys.readouterr()
    hurried.use(deps).handler(batch, Late())
    [doc] = emf_documents(capsys.readouterr().out)
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    units = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
    assert (units["SkippedForTime"], doc["SkippedForTime"]) == ("Count", [2.0])
