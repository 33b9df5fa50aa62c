"""bench/bench_work.py runs in quick mode and reports its four figures, well formed."""

from __future__ import annotations

import math

import pytest

from bench import bench_work

pytestmark = pytest.mark.container


def test_the_work_benchmark_reports_both_comparisons_and_the_memory() -> None:
    rows = bench_work.run(quick=True)
    assert [r.peer_name for r in rows[:2]] == [
        "sandbox Lambda-style poller (5 x 10)",
        "plain boto3 receive/process/delete loop",
    ]
    for row in rows[:2]:
        assert row.peer is not None and row.peer > 0 and row.sluice > 0
        assert row.met is not None and row.target.startswith("ratio >= ")
    rest, peak = rows[2], rows[3]
    assert math.isfinite(rest.sluice) and 20 < rest.sluice <= peak.sluice < 1000
