"""When the engine measures a worker's pace again (the CPU-timing tests are test_pacing.py's)."""

from __future__ import annotations

from sluice.runtime.engine.pacing import PROBE_EVERY, Pace


def test_a_worker_of_unknown_pace_measures_every_batch() -> None:
    pace = Pace()
    assert [pace.probes() for _ in range(3)] == [True, True, True]
    assert pace.batches == 3


def test_a_known_pace_is_measured_again_every_32nd_batch() -> None:
    pace = Pace()
    pace.measured(wall_s=0.5, cpu_s=0.1)
    probes = [pace.probes() for _ in range(2 * PROBE_EVERY)]
    assert PROBE_EVERY == 32
    assert [n + 1 for n, probed in enumerate(probes) if probed] == [32, 64]
