"""bench/bench_work.py runs in quick mode and reports its five figures, well formed."""

from __future__ import annotations

import math

import pytest

from bench import bench_work

pytestmark = pytest.mark.container


def test_the_work_benchmark_reports_its_three_comparisons_and_the_memory() -> None:
    rows = bench_work.run(quick=True)
    assert [r.peer_name for r in rows[:3]] == [
        "sandbox Lambda-style poller (5 x 10)",
        "boto3 consumer, a pool of 50 threads (bench/peers)",
        "naive boto3 loop: one thread, one record at a time (concurrency 1)",
    ]
    for row in rows[:3]:
        assert row.peer is not None and row.peer > 0 and row.sluice > 0
        assert row.met is not None and row.target.startswith("ratio >= ")
    rest, peak = rows[3], rows[4]
    assert math.isfinite(rest.sluice) and 20 < rest.sluice <= peak.sluice < 1000
