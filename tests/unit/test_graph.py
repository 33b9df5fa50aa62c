"""``sluice graph``'s flow: schedules are producers too, drawn to what they send to."""

from __future__ import annotations

from dataclasses import replace

from app import APP
from events import STOCK_AUDIT_REQUESTED
from sluice.app import Schedule
from sluice.tools.graph import dot, flow, mermaid
from sluice.topology import Topology


def test_a_schedule_aimed_at_one_worker_is_drawn_to_that_workers_queue() -> None:
    direct = Schedule(
        "hourly", "rate(1 hour)", STOCK_AUDIT_REQUESTED, {"scope": "all"}, target="stocktake"
    )
    graph = flow(Topology(replace(APP, schedules=(direct,)), "dev"))
    edges = {(src, dst, label, dashed) for src, dst, label, dashed in graph.edges}
    assert graph.nodes["schedule_hourly"] == ("hourly: rate(1 hour) UTC", "schedule")
    assert ("schedule_hourly", "queue_dev_stocktake", STOCK_AUDIT_REQUESTED, False) in edges
    assert (
        "schedule_hourly",
        "dlq_dev_hourly_schedule_dlq",
        "undeliverable, after its retries",
        True,
    ) in edges
    assert not any(src == "schedule_hourly" and dst.startswith("topic_") for src, dst, *_ in edges)


def test_the_shipped_schedule_renders_in_both_languages() -> None:
    graph = flow(Topology(APP))
    label = "nightly-stocktake: cron(0 2 * * ? *) Europe/Paris"
    assert f'    schedule_nightly_stocktake>"{label}"]' in mermaid(graph).splitlines()
    assert f'    schedule_nightly_stocktake [label="{label}", shape=note' in dot(graph)
