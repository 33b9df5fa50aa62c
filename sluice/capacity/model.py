"""The capacity of each hop: what a profile offers it, what limits it, and the knob.

Every limit is a figure of the data file (``quotas.toml``), of the declaration or of the
profile's deployed sizes; every time per record is the profile's. A hop whose limit the
file does not have shows no utilisation and names the missing entry. Each hop carries the
``--set`` changes that would bring it to ``TARGET`` (``changes``), which ``--fix`` applies.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from sluice.app import IDEMPOTENCY_TABLE, App
from sluice.capacity.flow import Flow, Stage
from sluice.capacity.profile import API, Profile
from sluice.capacity.quotas import Quotas
from sluice.runtime import Runtime, Source, WorkerSpec
from sluice.runtime.engine.prechecks import (
    CLAIM_UNITS,
    READ,
    TRANSACTION_ITEM_UNITS,
    WRITE_UNIT,
    Copies,
    missed_cost,
)

TARGET = 0.8
"""Fixes aim at this utilisation, so the hop keeps a fifth of its limit as headroom."""
TRANSACTION_UNITS = TRANSACTION_ITEM_UNITS
"""``deps.transact`` writes inside a transaction: twice the units (``ddb_transaction_factor``)."""
RELAY_PER_PUBLISH = 10
"""The relay publishes 10 envelopes per PublishBatch call."""
MAX_TASKS = 1000
"""The most tasks a container worker may declare (``WorkerSpec.max_tasks``)."""

Change = tuple[str, float]
"""A ``--set`` knob and the value that moves a hop: ``("inventory.max_invocations", 63)``."""


@dataclass(frozen=True)
class Hop:
    """One limit on the flow and the load the profile puts on it."""

    name: str
    offered: float
    limit: float | None
    """None: the data file has no figure for it (``unfound`` says which)."""
    unit: str
    knob: str
    fix: str = ""
    unfound: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    """The knobs the fix sets; none when no knob moves the hop (its ``fix`` says why)."""

    @property
    def utilisation(self) -> float | None:
        """Offered / limit (None without a limit)."""
        if self.limit is None:
            return None
        return math.inf if self.limit <= 0 else self.offered / self.limit

    @property
    def headroom(self) -> float | None:
        """Limit minus offered, in the hop's unit."""
        return None if self.limit is None else self.limit - self.offered


@dataclass
class TableLoad:
    """Units per second one table takes, and the hot partition's share."""

    wcu: float = 0.0
    rcu: float = 0.0
    hot: dict[str, float] = field(default_factory=dict)
    """Worker -> write units per second on its one hot key."""

    @property
    def partitions(self) -> int:
        """Partitions the table needs at this load (1,000 WCU or 3,000 RCU each)."""
        return max(1, math.ceil(self.wcu / 1000), math.ceil(self.rcu / 3000))


def batch_seconds(spec: WorkerSpec, profile: Profile, records: int) -> float:
    """One invocation's time for ``records``: in parallel up to max_concurrency, or one by
    one for a worker that takes the whole batch."""
    each = profile.ms(spec.name, batch=spec.batch) / 1000
    if spec.batch:
        return records * each
    return math.ceil(records / spec.max_concurrency) * each


def per_invocation(spec: WorkerSpec, profile: Profile) -> float:
    """Records per second one busy invocation (or one ESM batch slot) sustains."""
    return spec.batch_size / batch_seconds(spec, profile, spec.batch_size)


def task_throughput(spec: WorkerSpec) -> float:
    """Records per second one container task sustains: the declaration's ``throughput``."""
    return spec.throughput


def deliveries(stage: Stage, profile: Profile, rate: float) -> float:
    """Records per second delivered to a queue worker, duplicates included."""
    return stage.rate(rate) * (1 + profile.duplicates)


def table_loads(app: App, flow: Flow, profile: Profile, rate: float) -> dict[str, TableLoad]:
    """Write and read units per second, per table, at entry ``rate``."""
    loads: dict[str, TableLoad] = defaultdict(TableLoad)
    if flow.entry in ("api", "tables"):
        for table in flow.entry_tables:
            loads[table].wcu += rate  # one item of up to 1 KB per request
    for stage in flow.stages:
        if stage.spec is None:
            continue
        spec, offered = stage.spec, stage.rate(rate)
        good = offered * (1 - profile.poison)
        for table in spec.writes:
            loads[table].wcu += good * TRANSACTION_UNITS
            share = profile.hot_share(spec.name, table)
            if share and good > 0:
                shards = profile.deployed.shards(spec.name)
                loads[table].hot[spec.name] = share * good * TRANSACTION_UNITS / shards
        if spec.idempotent and not spec.batch:
            units = idempotency_units(spec, profile.duplicates)
            claims = loads[IDEMPOTENCY_TABLE]
            claims.wcu += good * units.new_wcu + offered * profile.duplicates * units.copy_wcu
            claims.rcu += deliveries(stage, profile, rate) * units.delivery_rcu
    return dict(loads)


@dataclass(frozen=True)
class IdempotencyUnits:
    """What one worker's idempotency costs its table, per record, as the engine spends it."""

    new_wcu: float
    """Write units per new record: the claim (none for ``transact_only``) and the completion."""
    copy_wcu: float
    """Write units per copy: none while prechecked, else its refused claim or transaction."""
    delivery_rcu: float
    """Read units per delivery: the precheck's, while copies arrive often enough to pay."""
    prechecked: bool


def idempotency_units(spec: WorkerSpec, duplicates: float) -> IdempotencyUnits:
    """The runtime's own rules (``sluice/runtime/engine/prechecks.py``, docs/cost.md) at a
    steady share of copies: ``duplicates`` copies per new record.

    A claiming worker writes a claim (a PutItem) and a completion: an item of the effect's
    transaction if it writes one, else a PutItem. A ``transact_only`` worker writes no
    claim: its completion rides in the effect's transaction. The precheck (a read unit per
    delivery) is on once the copies' share of deliveries, times what a missed copy costs,
    is worth the read; a copy it finds writes nothing, one it misses is refused by its write.
    """
    completion = TRANSACTION_ITEM_UNITS if spec.writes else CLAIM_UNITS
    claim = 0.0 if spec.transact_only else CLAIM_UNITS
    missed = missed_cost(spec.transact_only)
    prechecked = Copies(share=duplicates / (1 + duplicates)).worth_a_read(missed)
    return IdempotencyUnits(
        new_wcu=claim + completion,
        copy_wcu=0.0 if prechecked else missed / WRITE_UNIT,
        delivery_rcu=READ if prechecked else 0.0,
        prechecked=prechecked,
    )


def hops(app: App, flow: Flow, profile: Profile, quotas: Quotas, rate: float) -> list[Hop]:
    """Every hop of the flow at entry ``rate``, in flow order."""
    found: list[Hop] = []
    if app.api is not None:
        found += _api(profile, quotas, rate)
    found.append(_account_concurrency(flow, profile, quotas, rate))
    loads = table_loads(app, flow, profile, rate)
    for name, load in loads.items():
        found += _table(name, load, profile, quotas)
    for stage in flow.stages:
        spec = stage.spec
        if spec is None or (stage.share == 0 and stage.fed == 0):
            continue
        if spec.source is Source.STREAM:
            table = spec.table or ""
            found.append(_stream(stage, loads.get(table, TableLoad()), profile, quotas, rate))
    if flow.published and flow.event is not None:
        sns = quotas.figure("sns_publish_tps")
        publishes = flow.published * rate
        found.append(
            Hop(
                "sns topic: publishes",
                publishes,
                sns,
                "msg/s",
                "an SNS quota raise",
                f"request an SNS publish quota of {_aim(publishes)} msg/s" if sns else "",
                quotas.unfound("sns_publish_tps"),
                _raise("aws.sns_publish_tps", publishes) if sns else (),
            )
        )
    for stage in flow.stages:
        spec = stage.spec
        if spec is not None and spec.source.is_queue and stage.rate(rate) > 0:
            found += _queue_worker(stage, profile, quotas, rate)
    return found


def _api(profile: Profile, quotas: Quotas, rate: float) -> list[Hop]:
    account = quotas.figure("apigw_account_rps")
    stage = profile.deployed.api_rate
    stage_fix = f"raise API_RATE_LIMIT (sluice/sizing.py) from {stage:,.0f} to {_aim(rate)}"
    account_fix = (
        f"request an API Gateway throttle quota of {_aim(rate)} RPS (from {account:,.0f})"
        if account
        else ""
    )
    return [
        Hop(
            "api gateway: stage throttle",
            rate,
            stage,
            "req/s",
            "API_RATE_LIMIT",
            stage_fix,
            changes=_raise("api.rate", rate),
        ),
        Hop(
            "api gateway: account throttle",
            rate,
            account,
            "req/s",
            "API Gateway quota",
            account_fix,
            quotas.unfound("apigw_account_rps"),
            _raise("aws.apigw_account_rps", rate) if account else (),
        ),
    ]


def concurrency(stage: Stage, profile: Profile, rate: float) -> float:
    """Concurrent executions a Lambda stage needs at entry ``rate``."""
    if stage.spec is None:
        return rate * profile.ms(API) / 1000
    spec = stage.spec
    if spec.runtime is Runtime.CONTAINER:
        return 0.0
    return deliveries(stage, profile, rate) / per_invocation(spec, profile)


def _account_concurrency(flow: Flow, profile: Profile, quotas: Quotas, rate: float) -> Hop:
    needed = sum(concurrency(s, profile, rate) for s in flow.stages)
    limit = quotas.figure("lambda_concurrency")
    fix = (
        f"request a Lambda concurrency quota of {_aim(needed)} (from {limit:,.0f})" if limit else ""
    )
    return Hop(
        "lambda: account concurrency",
        needed,
        limit,
        "executions",
        "Lambda quota",
        fix,
        quotas.unfound("lambda_concurrency"),
        _raise("aws.lambda_concurrency", needed) if limit else (),
    )


def _table(name: str, load: TableLoad, profile: Profile, quotas: Quotas) -> list[Hop]:
    deployed = profile.deployed
    partition = quotas.figure("ddb_partition_wcu") or 0.0
    found = [
        Hop(
            f"table {name}: writes",
            load.wcu,
            deployed.table_quota(name, "write", quotas.figure("ddb_ondemand_table_wru")),
            "WRU/s",
            "DynamoDB table quota",
            f"request a table-level write quota of {_aim(load.wcu)} WRU/s, or move writers "
            "to tables of their own",
            changes=_raise(f"{name}.write_quota", load.wcu),
        )
    ]
    if load.rcu:
        found.append(
            Hop(
                f"table {name}: reads",
                load.rcu,
                deployed.table_quota(name, "read", quotas.figure("ddb_ondemand_table_rru")),
                "RRU/s",
                "DynamoDB table quota",
                f"request a table-level read quota of {_aim(load.rcu)} RRU/s",
                changes=_raise(f"{name}.read_quota", load.rcu),
            )
        )
    for worker, hot in sorted(load.hot.items()):
        # One partition key's writes stay on one partition, however many the table has;
        # spread over N key suffixes, each suffix takes 1/N of them.
        whole = hot * deployed.shards(worker)
        shards = max(2, math.ceil(whole / (partition * TARGET))) if partition else 0
        found.append(
            Hop(
                f"table {name}: hot key of {worker}",
                hot,
                partition or None,
                "WCU/s",
                "write sharding",
                f"spread {worker}'s hot key over {shards} key suffixes" if partition else "",
                quotas.unfound("ddb_partition_wcu"),
                ((f"{worker}.key_shards", shards),) if partition else (),
            )
        )
    return found


def _stream(stage: Stage, load: TableLoad, profile: Profile, quotas: Quotas, rate: float) -> Hop:
    assert stage.spec is not None
    spec = stage.spec
    shards = load.partitions
    each = per_invocation(spec, profile)
    offered = stage.rate(rate)
    factor = math.ceil(offered / (TARGET * shards * each))
    most = int(quotas.figure("stream_parallelization_factor_max") or 1)
    knob = f"{spec.name}.parallelization"
    if factor <= most:
        fix = f"{knob} {spec.parallelization} -> {factor} (its ParallelizationFactor)"
    else:
        fix = (
            f"{knob} {most} (the most) is not enough: also cut its "
            f"{profile.ms(spec.name, batch=spec.batch):g} ms per record"
        )
    return Hop(
        f"stream {spec.table} -> {spec.name}",
        offered,
        shards * spec.parallelization * each,
        "rec/s",
        "parallelization",
        fix,
        quotas.unfound("ddb_stream_shards_per_partition"),
        ((knob, min(factor, most)),),
    )


def _queue_worker(stage: Stage, profile: Profile, quotas: Quotas, rate: float) -> list[Hop]:
    assert stage.spec is not None
    spec = stage.spec
    offered = deliveries(stage, profile, rate)
    found = []
    if spec.source.is_fifo:
        found.append(
            Hop(
                f"queue {spec.name} (FIFO): throughput",
                offered,
                quotas.figure("sqs_fifo_batched_messages"),
                "msg/s",
                "FIFO high-throughput mode",
                "enable high-throughput mode (its figure is not in the data file: try --set "
                "aws.sqs_fifo_batched_messages=N) or use a standard queue",
                quotas.unfound("sqs_fifo_high_throughput"),
            )
        )
        share = profile.hot_share(spec.name)
        if share:
            serial = 1000 / profile.ms(spec.name)
            found.append(
                Hop(
                    f"queue {spec.name} (FIFO): hot group",
                    share * offered,
                    serial,
                    "msg/s",
                    "group_by",
                    f"split the hot {spec.group_by} group, or cut "
                    f"{profile.ms(spec.name):g} ms per record (one at a time per group; "
                    "no deployed knob moves it)",
                )
            )
    if spec.runtime is Runtime.CONTAINER:
        each = task_throughput(spec)
        tasks = math.ceil(offered / (TARGET * each))
        fix = f"max_tasks {spec.max_tasks} -> {tasks}"
        if tasks > MAX_TASKS:
            fix = (
                f"{tasks} tasks is over the {MAX_TASKS} a service may declare: raise its "
                "throughput per task"
            )
        found.append(
            Hop(
                f"worker {spec.name} (container): tasks",
                offered,
                spec.max_tasks * each,
                "rec/s",
                "max_tasks",
                fix,
                changes=((f"{spec.name}.max_tasks", min(tasks, MAX_TASKS)),),
            )
        )
        return found
    each = per_invocation(spec, profile)
    most = quotas.figure("sqs_esm_max_batches") or spec.max_invocations
    needed = math.ceil(offered / (TARGET * each))
    fix = f"max_invocations {spec.max_invocations} -> {needed}"
    if needed > most:
        fix = (
            f"{needed} invocations is over the {most:,.0f} an event source runs: raise "
            f"batch_size or max_concurrency, or cut {profile.ms(spec.name):g} ms per record"
        )
    found.append(
        Hop(
            f"worker {spec.name}: invocations",
            offered,
            min(spec.max_invocations, most) * each,
            "rec/s",
            "max_invocations",
            fix,
            changes=((f"{spec.name}.max_invocations", min(needed, int(most))),),
        )
    )
    return found


def _raise(knob: str, offered: float) -> tuple[Change, ...]:
    """The change that sets ``knob`` to run ``offered`` at the target utilisation."""
    return ((knob, float(math.ceil(offered / TARGET))),)


def _aim(offered: float) -> str:
    """The limit that runs ``offered`` at the target utilisation, rounded up, as text."""
    return f"{math.ceil(offered / TARGET):,}"
