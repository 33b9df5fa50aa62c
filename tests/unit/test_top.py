"""``sluice top``'s pieces without a network: alarms, the sandbox log window, CloudWatch I/O."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer
from botocore.stub import Stubber

from app import APP
from sluice import thresholds
from sluice.commands.top import parse_span
from sluice.runtime import WorkerSpec
from sluice.tools.top import cloudwatch
from sluice.tools.top.logwindow import LogWindow
from sluice.tools.top.rows import Depth, Figures, breaches, row, source_label
from sluice.topology import Topology

TOPOLOGY = Topology(APP)
SPECS = {s.name: s for s in APP.registry.specs}
NOW = 1_800_000_000.0


# --- alarms: red exactly where a CDK alarm would fire -------------------------------------


@pytest.mark.parametrize(
    ("worker", "depth", "figures", "expected"),
    [
        ("inventory", Depth(0, 0, thresholds.DLQ_VISIBLE), Figures(), []),
        ("inventory", Depth(0, 0, thresholds.DLQ_VISIBLE + 1), Figures(), ["dlq"]),
        ("inventory", Depth(), Figures(age_s=thresholds.QUEUE_AGE_S), []),
        ("inventory", Depth(), Figures(age_s=thresholds.QUEUE_AGE_S + 1), ["age"]),
        # a stream worker is held to the iterator-age threshold, not the queue one
        ("relay", Depth(), Figures(age_s=thresholds.ITERATOR_AGE_S + 1), ["age"]),
        ("inventory", Depth(), Figures(age_s=thresholds.ITERATOR_AGE_S + 1), []),
        ("ledger", Depth(), Figures(errors=1, throttles=0), ["failed"]),
        ("ledger", Depth(), Figures(errors=0, throttles=2), ["concurrency"]),
        ("ledger", Depth(), Figures(failed=40.0, processed=3.0), []),
    ],
)
def test_alarm_cells_follow_the_cdk_thresholds(
    worker: str, depth: Depth, figures: Figures, expected: list[str]
) -> None:
    assert breaches(SPECS[worker], depth, figures) == expected


def test_the_cdk_alarms_read_the_same_thresholds() -> None:
    from sluice.cdk import defaults

    assert defaults.QUEUE_AGE_THRESHOLD.to_seconds() == thresholds.QUEUE_AGE_S
    assert defaults.ITERATOR_AGE_THRESHOLD.to_seconds() == thresholds.ITERATOR_AGE_S
    assert defaults.DLQ_AGE_THRESHOLD.to_seconds() == thresholds.DLQ_AGE_S


def test_a_container_worker_says_so_and_an_unknown_runtime_is_ignored() -> None:
    @dataclasses.dataclass(frozen=True)
    class Declared:
        spec: WorkerSpec
        runtime: str

        def __getattr__(self, name: str) -> Any:
            return getattr(self.spec, name)

    spec = SPECS["audit"]
    assert source_label(spec) == "sns-queue"
    assert source_label(Declared(spec, "container")) == "container"  # type: ignore[arg-type]
    assert source_label(Declared(spec, "lambda")) == "sns-queue"  # type: ignore[arg-type]
    assert row(spec, Depth(1, 2, 3), Figures()).to_json()["dlq"] == 3


# --- the sandbox log, one minute of it ----------------------------------------------------


def _line(ts: float, message: str, worker: str, **fields: Any) -> str:
    return json.dumps({"ts": ts, "message": message, "worker": worker, **fields}) + "\n"


def _metrics(ts: float, worker: str, **counts: int) -> str:
    base = {"processed": 0, "failed": 0, "duplicates": 0, "permanent": 0}
    return _line(ts, "batch metrics", worker, service=worker, metrics={**base, **counts})


def test_the_log_window_sums_up_the_last_minute_per_worker(tmp_path: Path) -> None:
    # GIVEN a sandbox log with a stale batch, two fresh batches and their invocations
    log = tmp_path / "sandbox.log"
    log.write_text(
        _metrics(NOW - 120, "inventory", processed=50)
        + _metrics(NOW - 30, "inventory", processed=8, duplicates=1, permanent=1, failed=1)
        + _metrics(NOW - 10, "inventory", processed=2)
        + "not json\n"
        + _line(NOW - 30, "invocation end", "inventory", duration_ms=100.0)
        + _line(NOW - 20, "invocation end", "inventory", duration_ms=300.0, error="Boom: x")
        + _line(NOW - 10, "invocation end", "inventory", duration_ms=200.0)
        + _line(NOW - 5, "queue delivered", "inventory", sent_ts=NOW - 47.5)
        + _line(NOW - 4, "queue delivered", "inventory", sent_ts=NOW - 5)
        + _line(NOW - 3, "stream delivered", "relay", written_ts=NOW - 9)
    )
    # WHEN the window is read
    figures = LogWindow(log).read(NOW, ["inventory", "relay", "ledger"])
    # THEN only the last minute counts, per minute, with percentiles of the invocations
    assert figures["inventory"] == Figures(
        processed=10,
        failed=1,
        dead_lettered=1,
        duplicates=1,
        p50_ms=200.0,
        p95_ms=300.0,
        concurrency=0.01,
        errors=1,
        throttles=None,
        age_s=42.5,
    )
    assert figures["relay"].age_s == 6.0
    # AND a worker with nothing in the log is idle, not unknown
    assert figures["ledger"].processed == 0 and figures["ledger"].p50_ms is None


def test_the_log_window_reads_only_new_whole_lines_and_notices_a_new_run(tmp_path: Path) -> None:
    log = tmp_path / "sandbox.log"
    log.write_text(_metrics(NOW - 5, "audit", processed=3))
    window = LogWindow(log)
    assert window.read(NOW, ["audit"])["audit"].processed == 3
    # a half-written line waits for its end
    with log.open("a") as out:
        out.write(_metrics(NOW - 1, "audit", processed=4)[:-10])
    assert window.read(NOW, ["audit"])["audit"].processed == 3
    with log.open("a") as out:
        out.write(_metrics(NOW - 1, "audit", processed=4)[-10:])
    assert window.read(NOW, ["audit"])["audit"].processed == 7
    # time passes: the old batches leave the window
    assert window.read(NOW + 120, ["audit"])["audit"].processed == 0
    # a new sandbox run rewrites the log from the start
    log.write_text(_metrics(NOW + 119, "audit", processed=1))
    assert window.read(NOW + 120, ["audit"])["audit"].processed == 1


# --- AWS: one GetMetricData for every worker ------------------------------------------------


def _cloudwatch() -> Any:
    return boto3.client("cloudwatch", region_name="eu-west-1")


def test_one_get_metric_data_asks_for_every_worker_and_is_parsed_back() -> None:
    # GIVEN two workers, a queue one and a stream one
    specs = [SPECS["inventory"], SPECS["relay"]]
    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    args, _ = cloudwatch.request(TOPOLOGY, specs, now)
    queries = {q["Id"]: q["MetricStat"] for q in args["MetricDataQueries"]}
    assert len(queries) == 2 * cloudwatch.METRICS_PER_WORKER
    # the runtime's EMF counts, by the dimensions the runtime emits on Lambda
    assert queries["w0_processed"]["Metric"] == {
        "Namespace": "Sluice",
        "MetricName": "Processed",
        "Dimensions": [
            {"Name": "service", "Value": "inventory"},
            {"Name": "worker", "Value": "inventory"},
        ],
    }
    assert queries["w0_p95_ms"]["Stat"] == "p95"
    assert queries["w0_p95_ms"]["Metric"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": "sluice-inventory"}
    ]
    assert queries["w0_age_s"]["Metric"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert queries["w0_age_s"]["Metric"]["Dimensions"] == [
        {"Name": "QueueName", "Value": "sluice-inventory"}
    ]
    assert queries["w1_age_s"]["Metric"]["MetricName"] == "IteratorAge"
    assert args["StartTime"] == now - timedelta(seconds=cloudwatch.WINDOW_S)

    # WHEN CloudWatch answers (newest first, a missing metric has no points)
    def series(*values: float) -> dict[str, Any]:
        stamps = [now - timedelta(minutes=i + 1) for i in range(len(values))]
        return {"Timestamps": stamps, "Values": list(values), "StatusCode": "Complete"}

    answer = {
        "MetricDataResults": [
            {"Id": "w0_processed", "Label": "p", **series(100, 200, 0, 100, 100)},
            {"Id": "w0_failed", "Label": "f", **series()},
            {"Id": "w0_p50_ms", "Label": "d", **series(40.0, 90.0)},
            {"Id": "w0_p95_ms", "Label": "d", **series()},
            {"Id": "w0_age_s", "Label": "a", **series(301.0, 10.0)},
            {"Id": "w0_errors", "Label": "e", **series(0.0)},
            {"Id": "w1_age_s", "Label": "i", **series(61_000.0)},
        ],
        "Messages": [],
    }
    client = _cloudwatch()
    with Stubber(client) as stub:
        stub.add_response("get_metric_data", answer, args)
        figures = cloudwatch.CloudWatchFigures(client, TOPOLOGY).read(specs, now)
        stub.assert_no_pending_responses()

    # THEN sums become per-minute rates, the rest the newest value, an idle count is zero
    assert figures["inventory"].processed == 100.0
    assert figures["inventory"].failed == 0.0
    assert figures["inventory"].p50_ms == 40.0
    assert figures["inventory"].p95_ms is None
    assert figures["inventory"].age_s == 301.0
    assert figures["relay"].age_s == 61.0  # IteratorAge is in milliseconds
    assert breaches(SPECS["inventory"], Depth(), figures["inventory"]) == ["age"]
    assert breaches(SPECS["relay"], Depth(), figures["relay"]) == ["age"]


def test_a_container_worker_shows_its_running_tasks_not_lambda_figures() -> None:
    # GIVEN receipts, which runs as an ECS service (Container Insights on for the cluster)
    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    args, index = cloudwatch.request(TOPOLOGY, [SPECS["receipts"]], now)
    metrics = {q["Id"]: q["MetricStat"]["Metric"] for q in args["MetricDataQueries"]}
    # THEN no Lambda metric is asked for, and its concurrency is the running task count
    assert {m["Namespace"] for m in metrics.values()} == {
        "Sluice",
        "ECS/ContainerInsights",
        "AWS/SQS",
    }
    assert metrics["w0_concurrency_tasks"] == {
        "Namespace": "ECS/ContainerInsights",
        "MetricName": "RunningTaskCount",
        "Dimensions": [
            {"Name": "ClusterName", "Value": TOPOLOGY.container_cluster},
            {"Name": "ServiceName", "Value": "sluice-receipts"},
        ],
    }
    assert TOPOLOGY.container_cluster == "sluice-workers"
    now_minus = [now - timedelta(minutes=1)]
    answer = {
        "MetricDataResults": [
            {"Id": "w0_concurrency_tasks", "Timestamps": now_minus, "Values": [3.0]}
        ]
    }
    assert cloudwatch.parse(answer, index)["receipts"].concurrency == 3.0


def test_a_worker_on_both_runtimes_takes_whichever_answers() -> None:
    app = dataclasses.replace(APP, runtimes={"prod": {"inventory": "container"}})
    topology = Topology(app)
    args, index = cloudwatch.request(topology, [SPECS["inventory"]], datetime.now(UTC))
    ids = {q["Id"] for q in args["MetricDataQueries"]}
    assert {"w0_concurrency", "w0_concurrency_tasks", "w0_p50_ms"} <= ids
    stamp = [datetime.now(UTC)]
    answer = {
        "MetricDataResults": [
            {"Id": "w0_concurrency", "Timestamps": [], "Values": []},
            {"Id": "w0_concurrency_tasks", "Timestamps": stamp, "Values": [2.0]},
        ]
    }
    assert cloudwatch.parse(answer, index)["inventory"].concurrency == 2.0


def test_too_many_workers_for_one_call_is_refused_with_the_fix() -> None:
    many = [dataclasses.replace(SPECS["audit"], name=f"w{i}") for i in range(51)]
    with pytest.raises(ValueError, match="exceed GetMetricData's 500 per call"):
        cloudwatch.request(TOPOLOGY, many, datetime.now(UTC))


def test_the_cost_of_watching_is_the_list_price_per_metric() -> None:
    # 5 workers x 10 metrics, 60 calls an hour: 3,000 metrics at $0.01 per 1,000
    assert cloudwatch.cost_per_hour(5, 60) == pytest.approx(0.03)
    assert cloudwatch.cost_per_hour(5, 2) == pytest.approx(0.90)
    assert len(cloudwatch.asks(TOPOLOGY, SPECS["relay"])) == cloudwatch.METRICS_PER_WORKER


@pytest.mark.parametrize(
    ("text", "seconds"), [("2s", 2.0), ("500ms", 0.5), ("1m", 60.0), ("3", 3.0)]
)
def test_intervals_read_as_spans(text: str, seconds: float) -> None:
    assert parse_span(text) == seconds


@pytest.mark.parametrize("text", ["0s", "-1s", "2h", "soon", ""])
def test_a_bad_interval_is_refused_with_the_forms_it_takes(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="such as 2s, 500ms or 1m"):
        parse_span(text)


# --- the columns a terminal's width fits ------------------------------------------------


def test_at_80_columns_only_the_source_drops_and_a_narrower_terminal_drops_more() -> None:
    from sluice.tools.top.view import DROP_FIRST, cells, fitting

    figures = Figures(processed=120.5, failed=3, dead_lettered=1, p50_ms=93, p95_ms=1187.5)
    rows = [cells(row(spec, Depth(12, 3, 1), figures)) for spec in SPECS.values()]
    everything = fitting(rows, 200)
    assert "source" in everything and len(everything) == 12
    assert [k for k in everything if k not in fitting(rows, 80)] == ["source"]
    narrow = fitting(rows, 40)
    assert narrow[0] == "worker" and not set(DROP_FIRST) & set(narrow)
