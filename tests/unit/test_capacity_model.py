"""sluice capacity on paper: hand-worked arithmetic, the data file's sources, and topology
changes that must move the answer the right way."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from app import APP
from sluice.capacity import Profile, analyse, load
from sluice.capacity.costs import placement
from sluice.capacity.flow import flow
from sluice.capacity.model import batch_seconds, idempotency_units, per_invocation, table_loads
from sluice.capacity.profile import parse_burst, parse_rate, parse_record_ms
from sluice.capacity.quotas import parse
from sluice.runtime import ConfigurationError, Registry, Runtime, Source


def hop(report, name):  # type: ignore[no-untyped-def]
    return next(h for h in report.hops if h.name == name)


def test_every_quota_entry_cites_its_page_and_date_or_says_it_was_not_found() -> None:
    quotas = load()
    assert len(quotas.entries) >= 25
    for quota in quotas:
        assert quota.read_on == "2026-12-07", quota.name
        if quota.found:
            assert quota.title and quota.url.startswith("https://"), quota.name
            assert quota.authority in ("aws", "secondary"), quota.name
        else:
            assert quota.why and not quota.url, quota.name


def test_an_entry_without_its_source_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"\[x\] lacks title, url"):
        parse('[x]\nfigure = 1\nunit = "u"\nregion = "r"\nread_on = "2026-12-07"\n')


def test_the_documented_figures_are_the_ones_the_model_uses() -> None:
    quotas = load()
    assert quotas.figure("lambda_concurrency") == 1000
    assert quotas.figure("ddb_partition_wcu") == 1000
    assert quotas.figure("ddb_partition_rcu") == 3000
    assert quotas.figure("sqs_fifo_batched_messages") == 3000
    assert quotas.figure("apigw_account_rps") == 10000
    assert quotas.figure("sns_publish_tps") is None


def test_hand_worked_worker_capacity_and_concurrency() -> None:
    # GIVEN inventory: batches of 10, 10 records at once, 5 invocations, 40 ms a record
    profile = Profile(rate=4000, record_ms={"inventory": 40})
    spec = APP.registry.get("inventory").spec
    # THEN a batch takes 40 ms, an invocation moves 250 rec/s, five move 1,250
    assert batch_seconds(spec, profile, 10) == pytest.approx(0.04)
    assert per_invocation(spec, profile) == pytest.approx(250)
    report = analyse(APP, profile)
    inventory = hop(report, "worker inventory: invocations")
    assert (inventory.offered, inventory.limit) == (4000, pytest.approx(1250))
    # 4000 / (0.8 * 250) = 20 invocations
    assert inventory.fix == "max_invocations 5 -> 20"


def test_hand_worked_table_units_with_transactions_duplicates_and_poison() -> None:
    # GIVEN 1,000 orders/s, 10% duplicates, 10% poison
    profile = Profile(rate=1000, duplicates=0.1, poison=0.1, hot_key=0.5)
    loads = table_loads(APP, flow(APP, profile), profile, 1000)
    # THEN orders: one 1 KB put per request
    assert loads["orders"].wcu == 1000
    # state: inventory, receipts and audit each write 900 good records x 2 (transaction)
    assert loads["state"].wcu == pytest.approx(3 * 900 * 2)
    # idempotency, 100 copies/s per worker (1/11 of deliveries):
    # audit, receipts (claiming): claim (1) + completion in the transaction (2) per good
    # record; 1/11 x 5 < 1 read unit, so no precheck: each copy's claim is refused (1)
    # inventory (transact_only): the completion in the transaction (2), no claim;
    # 1/11 x 20 >= 1, so it prechecks every delivery (1,100 reads) and copies write nothing
    assert loads["idempotency"].wcu == pytest.approx(2 * (900 * 3 + 100 * 1) + 900 * 2)
    assert loads["idempotency"].rcu == pytest.approx(1100)
    # the hot key: half of inventory's 900 records x 2 units on one key
    assert loads["state"].hot["inventory"] == pytest.approx(900)


def test_hand_worked_idempotency_units_follow_transact_only_and_the_precheck_threshold() -> None:
    inventory = APP.registry.get("inventory").spec  # transact_only, writes state
    audit = APP.registry.get("audit").spec  # claims, writes state
    no_effect = replace(audit, writes=())
    # no copies: no precheck; the completion rides in the transaction (2), no claim
    quiet = idempotency_units(inventory, 0.0)
    assert (quiet.new_wcu, quiet.delivery_rcu, quiet.prechecked) == (2, 0, False)
    assert idempotency_units(audit, 0.0).new_wcu == 1 + 2  # claim + completion in the transaction
    assert idempotency_units(no_effect, 0.0).new_wcu == 1 + 1  # claim + completion PutItem
    # 5% copies: 0.05 / 1.05 of deliveries x 20 (a refused transaction) < 1: still off,
    # each copy's transaction of two items is refused at 2 x 2 write units
    assert idempotency_units(inventory, 0.05).copy_wcu == 4
    # 6% copies: 0.06 / 1.06 x 20 = 1.13 >= 1: a read per delivery, copies write nothing
    on = idempotency_units(inventory, 0.06)
    assert (on.prechecked, on.copy_wcu, on.delivery_rcu) == (True, 0, 1)
    # a claiming worker needs a fifth of deliveries to be copies: 0.25 / 1.25 x 5 = 1
    assert not idempotency_units(audit, 0.24).prechecked
    assert idempotency_units(audit, 0.24).copy_wcu == 1  # its claim, refused
    assert idempotency_units(audit, 0.25).prechecked


def test_the_reference_app_breaks_first_at_the_api_stage_throttle() -> None:
    report = analyse(APP, Profile(rate=10_000, hot_key=0.05))
    top = report.bottleneck
    assert top is not None and top.name == "api gateway: stage throttle"
    assert report.saturates_at(top) == pytest.approx(100)
    assert "12,500" in top.fix


def test_cost_per_million_adds_up_its_hops() -> None:
    report = analyse(APP, Profile(rate=1000))
    orders = next(c for c in report.costs if c.hop == "table orders")
    assert orders.usd == pytest.approx(0.625)  # 1 WRU per order at $0.625 per million
    assert report.total_usd == pytest.approx(sum(c.usd for c in report.costs))


def test_break_even_is_where_a_minimal_fleet_costs_what_lambda_does() -> None:
    quotas = load()
    spec = replace(APP.registry.get("receipts").spec, throughput=500.0, min_tasks=2)
    profile = Profile(rate=1000, record_ms={"receipts": 50})
    place = placement(spec, 1000, profile, quotas)
    hourly = (256 / 1024 * 0.03238) + (512 / 1024 * 0.00356)
    per_record = place.lambda_usd / 1e6
    assert place.break_even == pytest.approx(2 * hourly / 3600 / per_record)


def _with(name: str, **changes: object):  # type: ignore[no-untyped-def]
    workers = [
        replace(w, spec=replace(w.spec, **changes)) if w.spec.name == name else w
        for w in APP.registry
    ]
    return APP.with_registry(Registry(workers))


def test_a_new_worker_on_the_topic_adds_load_to_the_tables_and_concurrency() -> None:
    profile = Profile(rate=1000)
    before = analyse(APP, profile)
    extra = replace(
        APP.registry.get("audit"), spec=replace(APP.registry.get("audit").spec, name="audit2")
    )
    after = analyse(APP.with_workers(extra), profile)
    assert hop(after, "table state: writes").offered > hop(before, "table state: writes").offered
    assert (
        hop(after, "lambda: account concurrency").offered
        > hop(before, "lambda: account concurrency").offered
    )
    assert after.total_usd > before.total_usd


def test_a_fifo_worker_gets_a_throughput_limit_a_standard_one_does_not() -> None:
    profile = Profile(rate=1000, feeds={"ledger": 5000.0}, hot_key=0.1)
    report = analyse(APP, profile)
    fifo = hop(report, "queue ledger (FIFO): throughput")
    assert (fifo.limit, fifo.utilisation) == (3000, pytest.approx(5000 / 3000))
    group = hop(report, "queue ledger (FIFO): hot group")
    assert group.limit == pytest.approx(1000 / 50)  # one at a time per group
    standard = analyse(_with("ledger", source=Source.SQS_QUEUE, group_by=None), profile)
    assert not [h for h in standard.hops if "FIFO" in h.name]


def test_a_container_worker_is_limited_by_its_tasks_not_its_invocations() -> None:
    profile = Profile(rate=1000)
    on_lambda = analyse(_with("receipts", runtime=Runtime.LAMBDA), profile)
    assert hop(on_lambda, "worker receipts: invocations").limit == pytest.approx(5 * 200)
    container = analyse(APP, profile)
    tasks = hop(container, "worker receipts (container): tasks")
    assert tasks.limit == pytest.approx(4 * 50)  # max_tasks x declared throughput
    assert tasks.fix == f"max_tasks 4 -> {math.ceil(1000 / (0.8 * 50))}"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("fast", "--rate 'fast': give events per unit of time"),
        ("10/fortnight", "--rate '10/fortnight'"),
    ],
)
def test_a_bad_rate_is_refused_with_an_example(text: str, error: str) -> None:
    with pytest.raises(ConfigurationError, match=error):
        parse_rate(text)


def test_profile_parsers_read_what_the_help_says() -> None:
    assert parse_rate("600/min") == 10
    assert parse_burst("5x:60s") == (5, 60)
    assert parse_record_ms(["inventory=50"]) == {"inventory": 50}
    with pytest.raises(ConfigurationError, match="WORKER=MILLISECONDS"):
        parse_record_ms(["inventory"])
    with pytest.raises(ConfigurationError, match="--hot-key is a share between 0 and 1"):
        Profile(rate=1, hot_key=2)
