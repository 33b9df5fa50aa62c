"""bench/bench_work.py runs in quick mode and reports its figures, well formed."""

from __future__ import annotations

import math

import pytest

from bench import bench_work

pytestmark = pytest.mark.container


def test_the_work_benchmark_reports_throughput_and_cpu_like_for_like_and_the_memory() -> None:
    rows = bench_work.run(quick=True)
    pool = "boto3 consumer, a pool of 50 threads (bench/peers)"
    assert [r.peer_name for r in rows[:4]] == [
        "sandbox Lambda-style poller (5 x 10)",
        pool,
        "naive boto3 loop: one thread, one record at a time (concurrency 1)",
        f"{pool} + Powertools idempotent_function",
    ]
    assert "idempotent" in rows[3].name and "idempotent" not in rows[0].name
    for row in rows[:4]:
        assert row.peer is not None and row.peer > 0 and row.sluice > 0
        assert row.met is not None and row.target.startswith("ratio >= ")
    for row in rows[4:7]:  # each consumer's own CPU per record, apart from moto's
        assert row.unit == "ms/record" and row.peer and 0 < row.sluice < 100
    rest, peak = rows[7], rows[8]
    assert math.isfinite(rest.sluice) and 20 < rest.sluice <= peak.sluice < 1000
