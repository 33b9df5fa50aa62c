"""bench/bench_invoke.py runs in quick mode and reports both entry points side by side.

It starts its own sandbox, so it runs before the package fixture's (the file name sorts first):
a second sandbox in the same process takes over the workers' loggers.
"""

from __future__ import annotations

import math

import pytest

from bench import bench_invoke

pytestmark = pytest.mark.sandbox


def test_the_entry_point_benchmark_reports_invoke_against_http() -> None:
    rows = {row.name: row for row in bench_invoke.run(quick=True)}
    for op in ("get_order", "place_order"):
        row = rows[f"direct invoke latency, {op}"]
        assert row.unit == "ms" and row.peer is not None and row.ratio is not None
        assert math.isfinite(row.ratio) and row.ratio > 0
        assert "added over the function alone" in row.note
    assert rows["API function alone, get_order"].sluice > 0
