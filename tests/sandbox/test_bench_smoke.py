"""bench/bench_sandbox.py runs end to end in quick mode and reports well-formed rows."""

from __future__ import annotations

import math

import pytest

from bench import bench_sandbox

pytestmark = pytest.mark.sandbox


def test_the_sandbox_benchmark_reports_every_figure() -> None:
    rows = {row.name: row for row in bench_sandbox.run(quick=True)}
    throughput = rows["sandbox e2e throughput"]
    assert throughput.unit == "orders/s" and throughput.peer is not None and throughput.peer > 0
    assert "AWS calls per order" in throughput.note
    assert "ms of its CPU per order" in throughput.note  # the moto server's, from /proc
    for name in ("sandbox e2e latency p50", "sandbox e2e latency p99", "sandbox startup"):
        assert math.isfinite(rows[name].sluice) and rows[name].sluice > 0, rows[name]
    assert rows["sandbox e2e latency p50"].runs == 30
    assert rows["sandbox startup"].met is not None
    # the targets are rows of their own: latency at half the unpaced rate, the long run
    half = rows["sandbox e2e latency p99, paced at half the unpaced rate"]
    assert half.target == "< 2 s" and half.met is not None
    (long,) = [r for r in rows.values() if r.name.startswith("sandbox e2e throughput, ")]
    assert long.peer == throughput.sluice and long.target == "ratio >= 0.8"
