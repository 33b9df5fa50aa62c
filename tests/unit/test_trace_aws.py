"""``sluice trace --aws``: the Logs Insights queries, and a recorded answer read back as hops."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from app import APP
from sluice.runtime import ConfigurationError
from sluice.tools import insights
from sluice.tools.trace import correlation_ids, hops
from sluice.topology import Topology

RECORDED = json.loads((Path(__file__).parent / "samples" / "insights_trace.json").read_text())
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
WINDOW = {
    "startTime": int((NOW - timedelta(hours=24)).timestamp()),
    "endTime": int(NOW.timestamp()),
}
# Every function of the stack has a log group but the ledger, which never ran; receipts runs
# as a container (Fargate), so its group is its service's.
GROUPS = [
    "/aws/lambda/sluice-audit",
    "/aws/lambda/sluice-inventory",
    "/sluice/containers/sluice-receipts",
    "/aws/lambda/sluice-relay",
    "/aws/lambda/sluice-api",
]


def test_the_queries_read_as_written() -> None:
    assert insights.resolve_query("ord-1.2") == (
        "fields correlation_id\n"
        '| filter correlation_id = "ord-1.2" or event_id = "ord-1.2" '
        'or @message like /"[A-Za-z_]*id":\\s*"ord-1\\.2"/\n'
        "| stats count(*) as lines by correlation_id\n"
        "| limit 20"
    )
    assert insights.hops_query(["a", "b"]) == (
        "fields @timestamp, @log, @message\n"
        '| filter correlation_id in ["a", "b"]\n'
        "| sort @timestamp asc\n"
        "| limit 10000"
    )
    assert insights.log_groups(Topology(APP, "dev")) == [
        "/aws/lambda/dev-audit",
        "/aws/lambda/dev-inventory",
        "/aws/lambda/dev-ledger",
        "/sluice/containers/dev-receipts",
        "/aws/lambda/dev-relay",
        "/aws/lambda/dev-stocktake",
        "/aws/lambda/dev-api",
    ]


def test_a_worker_a_stage_moves_to_containers_is_traced_in_both_groups() -> None:
    # inventory is a function as declared; one stage runs it as a container
    app = replace(APP, runtimes={"prod": {"inventory": "container"}})
    groups = insights.log_groups(Topology(app, "dev"))
    assert "/aws/lambda/dev-inventory" in groups
    assert "/sluice/containers/dev-inventory" in groups


def _stubbed(stub: Stubber, wanted: str) -> None:
    functions = [g for g in GROUPS if g.startswith("/aws/lambda/")]
    stub.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": g} for g in [*functions, "/aws/lambda/sluice-other"]]},
        {"logGroupNamePrefix": "/aws/lambda/sluice-"},
    )
    stub.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": "/sluice/containers/sluice-receipts"}]},
        {"logGroupNamePrefix": "/sluice/containers/sluice-"},
    )
    for query, answer in (
        (insights.resolve_query(wanted), RECORDED["resolve"]),
        (insights.hops_query([RECORDED["correlation_id"]]), RECORDED["hops"]),
    ):
        stub.add_response(
            "start_query",
            {"queryId": f"q-{len(query)}"},
            {"logGroupNames": GROUPS, "queryString": query, "limit": 10_000, **WINDOW},
        )
        stub.add_response(
            "get_query_results",
            {"status": "Running", "results": []},
            {"queryId": f"q-{len(query)}"},
        )
        stub.add_response("get_query_results", answer, {"queryId": f"q-{len(query)}"})


@pytest.mark.parametrize("key", ["order_id", "correlation_id", "event_id"])
def test_a_recorded_answer_becomes_the_same_table_as_locally(key: str) -> None:
    # GIVEN CloudWatch Logs answering with a recorded trace of one order
    wanted = RECORDED[key]
    logs = boto3.client("logs", region_name="eu-west-1")
    slept: list[float] = []
    with Stubber(logs) as stub:
        _stubbed(stub, wanted)
        # WHEN the order is traced by its order id, its correlation id or its event id
        found = insights.Insights(logs, Topology(APP), sleep=slept.append).trace(
            wanted, timedelta(hours=24), NOW
        )
        stub.assert_no_pending_responses()
    steps = hops(found, correlation_ids(found, wanted))
    # THEN the hops are the API, the relay's publish, then each worker, in time order
    assert [(h.hop, h.where, h.outcome) for h in steps] == [
        ("API", "api", "info"),
        ("SNS", "relay", "info"),
        ("worker", "inventory", "done"),
        ("worker", "receipts", "done"),
        ("worker", "audit", "retry"),
        ("worker", "audit", "done"),
    ]
    assert steps[2].detail == "41.27 ms"
    assert steps[4].detail == "3.1 ms (unhandled_exception)"
    assert round((steps[-1].ts - steps[0].ts) * 1000) == 3416
    assert slept == [1.0, 1.0]  # each query polled once more after "Running"


def test_an_id_that_could_break_the_query_is_refused() -> None:
    logs = boto3.client("logs", region_name="eu-west-1")
    with pytest.raises(ConfigurationError, match="is not an id"):
        insights.Insights(logs, Topology(APP)).trace('x" or 1=1', timedelta(hours=1), NOW)


def test_a_failed_query_and_a_missing_stack_say_so() -> None:
    logs = boto3.client("logs", region_name="eu-west-1")
    with Stubber(logs) as stub:
        stub.add_response("describe_log_groups", {"logGroups": []})
        stub.add_response("describe_log_groups", {"logGroups": []})
        with pytest.raises(ConfigurationError, match="no log group of the stack exists"):
            insights.Insights(logs, Topology(APP)).trace("abc", timedelta(hours=1), NOW)
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q"})
        stub.add_response("get_query_results", {"status": "Failed", "results": []})
        with pytest.raises(ConfigurationError, match="ended Failed"):
            insights.Insights(logs, Topology(APP)).run(GROUPS, "fields @message", (0, 1))


def test_local_records_resolve_by_any_id_field() -> None:
    records: list[dict[str, Any]] = [
        {"correlation_id": "c1", "resource_id": "ord-1", "message": "api request"},
        {"correlation_id": "c1", "event_id": "e1", "worker": "ord-2"},
        {"correlation_id": "c2", "order_id": "ord-2"},
        {"correlation_id": "-", "event_id": "ord-1"},
    ]
    assert correlation_ids(records, "ord-1") == {"c1"}
    assert correlation_ids(records, "e1") == {"c1"}
    assert correlation_ids(records, "ord-2") == {"c2"}  # `worker` is not an id field
    assert correlation_ids(records, "c2") == {"c2"}
