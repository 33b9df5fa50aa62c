"""sluice capacity --simulate: every event accounted for, the same seed the same run."""

from __future__ import annotations

from dataclasses import replace

from app import APP
from sluice.capacity import Profile, load
from sluice.capacity.knobs import Scenario, apply, parse_sets
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


def _run(profile: Profile, *sets: str, duration: float = 30):  # type: ignore[no-untyped-def]
    scenario = apply(Scenario(APP, load(), profile), parse_sets(list(sets)))
    return simulate(
        scenario.app, scenario.profile, seed=1, duration_s=duration, quotas=scenario.quotas
    )


def test_a_raised_api_throttle_admits_what_the_deployed_one_refuses() -> None:
    profile = Profile(rate=300)
    deployed = _run(profile).timeline.events
    raised = _run(profile, "api.rate=500").timeline.events
    assert deployed["refused"] > 0.5 * deployed["entered"]  # 100 req/s of 300 get in
    assert raised["refused"] == 0
    assert raised["done"] > deployed["done"]


def test_a_fifo_queue_receives_no_faster_than_its_throughput_quota() -> None:
    # GIVEN ledger (FIFO) fed 1,000 msg/s with invocations enough for 2,600
    profile = Profile(rate=1, feeds={"ledger": 1000.0})
    invocations = "ledger.max_invocations=40"
    capped = _run(profile, invocations, "aws.sqs_fifo_batched_messages=500")
    free = _run(profile, invocations)  # 3,000 msg/s, the data file's figure
    # THEN at 500 msg/s half of it waits at the end, at 3,000 next to nothing does
    assert capped.waiting["ledger"] > 10_000
    assert free.waiting["ledger"] < 100


def test_a_fifo_hot_group_runs_one_record_at_a_time() -> None:
    # GIVEN 100 msg/s to ledger at 50 ms a record: 20/s is all one group can take
    profile = Profile(rate=1, feeds={"ledger": 100.0}, record_ms={"ledger": 50})
    spread = _run(profile).waiting["ledger"]
    hot = _run(replace(profile, hot_keys={"ledger": 0.5})).waiting["ledger"]
    # THEN with half of them in one group, about 30/s pile up behind it
    assert spread < 20
    assert hot > 20 * 30 * 0.5


def test_the_accounts_lambda_concurrency_is_shared_by_every_function() -> None:
    # GIVEN inventory may run 20 invocations of one second a record (it needs 9 at 90/s)
    profile = Profile(rate=90, record_ms={"inventory": 1000})
    roomy = _run(profile, "inventory.max_invocations=20").timeline.events
    # WHEN the account allows 8 concurrent executions in all (the API needs about 3)
    tight = _run(profile, "inventory.max_invocations=20", "aws.lambda_concurrency=8")
    # THEN inventory's invocations hold the slots: the API, a synchronous caller, is
    # throttled (its requests get an error) though its own throttle admits them all
    assert roomy["refused"] == 0
    assert tight.timeline.events["refused"] > 0.3 * tight.timeline.events["entered"]
