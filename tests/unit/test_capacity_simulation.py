"""sluice capacity --simulate: every event accounted for, the same seed the same run."""

from __future__ import annotations

from dataclasses import replace

from app import APP
from sluice.capacity import Profile
from sluice.capacity.simulation import simulate
from sluice.runtime import Registry

STRESSED = Profile(rate=400, duplicates=0.1, poison=0.05, hot_key=0.3, burst_factor=3, burst_s=10)


def test_every_copy_ends_done_dead_lettered_or_still_queued() -> None:
    result = simulate(APP, STRESSED, seed=3, duration_s=60)
    copies = result.timeline.copies
    queued = sum(result.waiting.values())
    assert copies["created"] > 0 and copies["dead"] > 0
    assert copies["duplicates"] > 0
    settled = copies["done"] + copies["dead"] + copies["duplicates settled"]
    held = queued + copies["processing"] + copies["delayed"]
    assert copies["created"] + copies["duplicates"] == settled + held
    events = result.timeline.events
    assert events["entered"] > events["refused"] > 0  # the stage throttle refuses the rest
    assert result.in_flight >= 0


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    first = simulate(APP, STRESSED, seed=7, duration_s=40).summary()
    again = simulate(APP, STRESSED, seed=7, duration_s=40).summary()
    other = simulate(APP, STRESSED, seed=8, duration_s=40).summary()
    assert first == again
    assert first != other


def test_poison_is_dead_lettered_and_a_low_receive_count_dead_letters_throttled_writes() -> None:
    profile = Profile(rate=90, hot_key=1.0, record_ms={"inventory": 1})
    patient = simulate(APP, profile, seed=1, duration_s=30).summary()
    inventory = APP.registry.get("inventory")
    hasty = APP.with_registry(
        Registry(
            [
                replace(w, spec=replace(w.spec, max_receive_count=1)) if w is inventory else w
                for w in APP.registry
            ]
        )
    )
    impatient = simulate(hasty, profile, seed=1, duration_s=30).summary()
    assert patient["dead_lettered_by"].get("inventory", 0) <= impatient["dead_lettered_by"].get(
        "inventory", 0
    )
    poisoned = simulate(APP, Profile(rate=90, poison=0.5), seed=1, duration_s=20).summary()
    assert poisoned["events"]["dlq"] > 0
