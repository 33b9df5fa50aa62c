"""sluice capacity what-if: each --set knob moves its hop the right way, --fix leaves no hop
over its limit on the reference app, --hot-key names its target, and a declared
parallelization reaches the model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app import APP
from sluice.capacity import Profile, analyse, load
from sluice.capacity.fixes import fix
from sluice.capacity.knobs import Scenario, apply, knobs, parse_sets
from sluice.capacity.model import TARGET
from sluice.capacity.profile import parse_hot_keys
from sluice.runtime import ConfigurationError, Registry

REFERENCE = Profile(rate=10_000, hot_key=0.05)


def hop(report, name):  # type: ignore[no-untyped-def]
    return next(h for h in report.hops if h.name == name)


def run(scenario: Scenario):  # type: ignore[no-untyped-def]
    return analyse(scenario.app, scenario.profile, scenario.quotas)


@pytest.mark.parametrize(
    ("knob", "name", "limit"),
    [
        ("api.rate=12500", "api gateway: stage throttle", 12_500),
        ("aws.apigw_account_rps=12500", "api gateway: account throttle", 12_500),
        ("aws.lambda_concurrency=3000", "lambda: account concurrency", 3_000),
        ("inventory.max_invocations=63", "worker inventory: invocations", 63 * 200),
        ("receipts.max_tasks=250", "worker receipts (container): tasks", 250 * 50),
        ("relay.parallelization=7", "stream orders -> relay", 10 * 7 * 200),
        ("idempotency.write_quota=100000", "table idempotency: writes", 100_000),
        ("state.read_quota=5000", "table idempotency: writes", 40_000),  # another table's
        ("inventory.batch_size=10", "worker inventory: invocations", 5 * 200),  # today's value
    ],
)
def test_a_knob_sets_the_limit_of_its_hop(knob: str, name: str, limit: float) -> None:
    # GIVEN the reference app at 10,000 orders/s, as deployed
    before = hop(run(Scenario(APP, load(), REFERENCE)), name)
    # WHEN one knob is set
    after = hop(run(apply(Scenario(APP, load(), REFERENCE), parse_sets([knob]))), name)
    # THEN its hop's limit is the one the knob gives, and nothing else moved its load
    assert after.limit == pytest.approx(limit)
    assert after.offered == before.offered


def test_key_shards_spread_the_hot_key_over_that_many_partitions() -> None:
    scenario = Scenario(APP, load(), REFERENCE)
    before = hop(run(scenario), "table state: hot key of inventory")
    after = hop(
        run(apply(scenario, {"inventory.key_shards": "4"})), "table state: hot key of inventory"
    )
    assert after.offered == pytest.approx(before.offered / 4)
    assert hop(run(scenario), "table state: hot key of audit").offered == pytest.approx(1000)


def test_fix_leaves_no_hop_at_or_over_its_limit_on_the_reference_app() -> None:
    # GIVEN 10,000 orders/s with 5% on one SKU: six hops over, three at their limit
    scenario = Scenario(APP, load(), REFERENCE)
    assert sum((h.utilisation or 0) >= 1 for h in run(scenario).hops) == 11
    # WHEN --fix applies every suggested change
    plan = fix(scenario)
    # THEN nothing is left at or over its limit, and every hop runs at most at the target
    assert plan.left == []
    uses = [h.utilisation for h in run(plan.scenario).hops if h.utilisation is not None]
    assert max(uses) == pytest.approx(TARGET)
    steps = {s.knob: (s.before, s.after) for s in plan.steps}
    assert steps["api.rate"] == ("100", "12500")
    assert steps["inventory.max_invocations"] == ("5", "63")
    assert steps["receipts.max_tasks"] == ("4", "250")
    assert steps["relay.parallelization"] == ("1", "7")
    # 8 write units an order: audit and receipts 3 (claim + completion in the transaction),
    # inventory 2 (transact_only: the completion in the transaction); 80,000 / 0.8
    assert steps["idempotency.write_quota"] == ("40000", "100000")
    assert steps["inventory.key_shards"] == ("1", "2")
    assert plan.steps[0].flag == "--set api.rate=12500"


def test_fix_names_the_hops_no_knob_moves() -> None:
    # GIVEN a FIFO worker whose one hot group gets more than one record at a time can take
    profile = Profile(rate=100, feeds={"ledger": 200.0}, hot_keys={"ledger": 0.5})
    plan = fix(Scenario(APP, load(), profile))
    # THEN --fix raises what it can and leaves the group, saying why
    assert [h.name for h in plan.left] == ["queue ledger (FIFO): hot group"]
    assert "no deployed knob moves it" in plan.left[0].fix


@pytest.mark.parametrize(
    ("sets", "error"),
    [
        (["nosuch.knob=1"], "--set nosuch.knob: no such knob; NAME.SETTING where NAME is api"),
        (["inventory.colour=1"], "--set inventory.colour: no such knob"),
        (["aws.nosuch=1"], "--set aws.nosuch: no such knob"),
        (["api.rate=fast"], "--set api.rate=fast: give a number above 0"),
        (["orders.write_quota=0"], "--set orders.write_quota=0: give a number above 0"),
        (["inventory.key_shards=1.5"], "--set inventory.key_shards=1.5: give a whole number"),
        (["inventory.max_invocations=many"], "give a number \\(max_invocations is a int\\)"),
        (["relay.parallelization=11"], "must be 1..10, got 11"),
        (["inventory.parallelization=2"], "a queue worker scales with max_invocations"),
        (["relay.runtime=container"], "a stream worker runs on Lambda"),
    ],
)
def test_an_unknown_knob_or_a_bad_value_is_refused_naming_it(sets: list[str], error: str) -> None:
    with pytest.raises(ConfigurationError, match=error):
        apply(Scenario(APP, load(), REFERENCE), parse_sets(sets))


def test_a_knob_without_its_value_is_refused_with_an_example() -> None:
    with pytest.raises(ConfigurationError, match=r"give NAME\.SETTING=VALUE, e\.g\. inventory"):
        parse_sets(["inventory.max_invocations"])


def test_the_knob_list_names_each_workers_own_settings_with_todays_value() -> None:
    listed = {k.name: k.today for k in knobs(Scenario(APP, load(), REFERENCE))}
    assert listed["api.rate"] == "100"
    assert listed["relay.parallelization"] == "1"
    assert listed["inventory.max_invocations"] == "5"
    assert listed["receipts.max_tasks"] == "4"
    assert listed["state.write_quota"] == "40000"
    assert listed["aws.sns_publish_tps"] == "not found"
    assert "relay.max_invocations" not in listed  # a stream scales by parallelization
    assert "inventory.max_tasks" not in listed  # a Lambda worker has no tasks


def test_a_declared_parallelization_is_the_streams_concurrency_per_shard() -> None:
    relay = APP.registry.get("relay")
    app = APP.with_registry(
        Registry(
            [
                replace(w, spec=replace(w.spec, parallelization=4)) if w is relay else w
                for w in APP.registry
            ]
        )
    )
    stream = hop(analyse(app, REFERENCE), "stream orders -> relay")
    assert stream.limit == pytest.approx(4 * hop(analyse(APP, REFERENCE), stream.name).limit)
    assert stream.changes == (("relay.parallelization", 7),)


def test_a_hot_key_named_for_a_worker_applies_to_that_worker_only() -> None:
    every, named = parse_hot_keys(["inventory=0.05"])
    report = analyse(APP, Profile(rate=10_000, hot_key=every, hot_keys=named))
    hot = [h.name for h in report.hops if "hot key" in h.name]
    assert hot == ["table state: hot key of inventory"]


def test_a_hot_key_named_for_a_table_applies_to_every_worker_writing_it() -> None:
    every, named = parse_hot_keys(["0.01", "state=0.05", "audit=0.2"])
    report = analyse(APP, Profile(rate=1000, hot_key=every, hot_keys=named))
    # 1,000 records x 2 units (a transaction) x the share: the worker's own beats the table's
    assert hop(report, "table state: hot key of inventory").offered == pytest.approx(100)
    assert hop(report, "table state: hot key of receipts").offered == pytest.approx(100)
    assert hop(report, "table state: hot key of audit").offered == pytest.approx(400)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        (["inventory=2"], "--hot-key 'inventory=2': give a share between 0 and 1"),
        (["=0.1"], "--hot-key '=0.1'"),
        (["some"], "--hot-key 'some'"),
    ],
)
def test_a_bad_hot_key_is_refused(values: list[str], error: str) -> None:
    with pytest.raises(ConfigurationError, match=error):
        parse_hot_keys(values)


def test_a_hot_key_for_no_worker_or_table_is_refused_naming_both() -> None:
    with pytest.raises(ConfigurationError, match="--hot-key nosuch=: no worker or table"):
        analyse(APP, Profile(rate=10, hot_keys={"nosuch": 0.1}))
