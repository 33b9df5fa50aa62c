"""The publisher benchmark runs end to end and reports both rows (speed lives in bench/)."""

from __future__ import annotations

import math

from bench import bench_publisher


def test_quick_run_reports_time_and_calls_per_message() -> None:
    rows = bench_publisher.run(quick=True)

    assert [r.name for r in rows] == [
        "Publish 50 envelopes to SNS",
        "Publisher API calls per message",
    ]
    timing, calls = rows
    assert math.isfinite(timing.sluice) and timing.sluice > 0
    assert timing.peer is not None and timing.peer > 0 and timing.target == "ratio <= 0.2"
    assert (calls.sluice, calls.peer) == (0.1, 1.0)
    assert calls.met is True
