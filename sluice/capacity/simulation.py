"""The declared pipeline under a load profile, in time: a discrete-event simulation (SimPy).

What it models, hop by hop: the API's throttle (a token bucket); the account's Lambda
concurrency, one pool the API and every Lambda worker draw from (an invocation waits for
a free slot, as a throttled event source retries); table writes against per-table and
hot-partition limits (the hot key's limit times its ``key_shards``), throttled writes
retried with the SDK's backoff; stream shards polled by ``parallelization`` pollers each;
SNS fan-out by filter; each queue worker's event source scaling up by AWS's documented
rate (5 batches, then 300 more a minute) to its ``max_invocations``, batching windows,
``max_concurrency`` records at once with a lognormal time per record, duplicates, poison
records straight to the DLQ, failed records back on the queue after the engine's backoff
and dead-lettered at ``max_receive_count``; a FIFO queue's receive throughput (the data
file's batched-messages figure, a token bucket) and its hot message group, whose records
one batch at a time holds and runs one by one while the other groups flow past it;
container workers as tasks scaling on backlog; a burst. Every deployed size is the
profile's (``Deployed``), so ``--set`` and ``--fix`` move the run as they move the model.

What it leaves out: SNS's publish quota (the data file has no figure), the API Gateway
account throttle's burst bucket beyond its RPS, Lambda's per-function scaling rate (1,000
environments per 10 s: never the binding limit at these rates), and FIFO's send-side
throttling (producers are outside the declaration).

Aggregation, and why it is sound: at 10,000 events/s one process per event would cost
minutes of CPU, so events travel in *lots* of ``n`` (about 100 lots a second enter), and
one simulated invocation stands for ``g = n / batch_size`` real ones (the invocation count
divided by ``g``; the event source's scale-up rate too). Real invocations of one worker are
statistically alike and independent, so grouping them changes the variance of a hop's
time, not its mean or its capacity; a lot is about 10 ms of arrivals, finer than any
batching window or poll interval, so the latency percentiles keep that resolution. Shares
(poison, hot key, duplicates) pick whole lots with that probability, so counts hold on
average. At low rates a lot is one event and nothing is aggregated (the bench's case).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from sluice.app import IDEMPOTENCY_TABLE, App
from sluice.capacity.flow import Flow, Stage, flow
from sluice.capacity.model import (
    TRANSACTION_UNITS,
    batch_seconds,
    idempotency_units,
    table_loads,
    task_throughput,
)
from sluice.capacity.profile import API, Profile
from sluice.capacity.quotas import Quotas, load
from sluice.capacity.timeline import Result, Timeline
from sluice.runtime import Runtime, Source, WorkerSpec

LOTS_PER_S = 100
LOTS_BANKED = 20
"""The API's simulated token bucket holds at least this many lots."""
SIGMA = 0.5
"""Spread of the lognormal time per record (its mean stays the profile's)."""
SDK_RETRIES = 10
SDK_BASE_S = 0.05
"""botocore's legacy DynamoDB retry: 10 attempts, 50 ms doubling."""
STREAM_POLL_S = (0.25, 0.25)
"""Lambda reads each shard about four times a second (an assumption: no stored page)."""
BURST_START = 0.2
"""The burst starts this far into the run."""
SCALE_OUT_S = 60.0


@dataclass
class Event:
    """One lot of entry events: ``n`` of them, born together, and the copies in flight."""

    n: float
    born: float
    pending: int = 0
    lost: bool = False


@dataclass
class Copy:
    """A lot's delivery to one worker."""

    event: Event
    poison: bool
    draw: float
    """Uniform draw: the copy writes the hot key of a table if it falls under that share."""
    duplicate: bool = False
    receives: int = 0


@dataclass
class Platform:
    """What the run plays on: AWS's quotas and pollers, or the sandbox on one machine."""

    name: str = "aws"
    quotas_apply: bool = True
    stream_idle_s: tuple[float, float] = STREAM_POLL_S
    invocation_s: Callable[[random.Random, str, int], float] | None = None
    """Seconds one invocation of a stage takes for so many records; None: the profile's."""
    shared_s: Callable[[random.Random, str, int], float] | None = None
    """Of that, seconds spent on a server every stage shares (the sandbox's moto)."""
    clients: int = 0
    """Closed-loop clients (each posts, waits for the answer, posts again); 0: open loop."""
    orders: int | None = None
    """Stop the entry after this many events."""
    even: bool = False
    """Arrivals evenly spaced (paced) rather than Poisson."""


@dataclass
class Bucket:
    """A token bucket: ``rate`` units a second, up to ``size`` banked."""

    rate: float
    size: float
    tokens: float = 0.0
    at: float = 0.0

    def ready(self, units: float, now: float) -> bool:
        """Refill to ``now``; True if ``units`` are banked."""
        self.tokens = min(self.size, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return self.tokens >= units

    def take(self, units: float, now: float) -> bool:
        """Spend ``units`` if banked."""
        if not self.ready(units, now):
            return False
        self.tokens -= units
        return True

    def owe(self, units: float, now: float) -> float:
        """Spend ``units`` now, into debt if need be: the seconds until it is repaid."""
        self.ready(units, now)
        self.tokens -= units
        return max(0.0, -self.tokens / self.rate)


@dataclass
class Pool:
    """The account's Lambda concurrency. A synchronous caller (the API) takes what is free
    or its request is refused, as a throttled synchronous invoke is; an event source's
    invocation waits until enough is free, as a throttled event source retries."""

    env: simpy.Environment
    size: int
    free: int = 0
    freed: simpy.Event | None = None

    def take_now(self, most: int) -> int:
        """Up to ``most`` slots, now: how many were free."""
        got = min(most, self.free)
        self.free -= got
        return got

    def wait(self, need: int) -> Generator[Any, Any, None]:
        """Take ``need`` slots once they are free."""
        while self.free < need:
            if self.freed is None or self.freed.triggered:
                self.freed = self.env.event()
            yield self.freed
        self.free -= need

    def give(self, slots: int) -> None:
        """Free ``slots``."""
        self.free += slots
        if self.freed is not None and not self.freed.triggered:
            self.freed.succeed()


@dataclass
class Lane:
    """One worker's queue (or stream) and its pollers."""

    stage: Stage
    group: float
    waiting: deque[Copy] = field(default_factory=deque)
    wake: simpy.Event | None = None
    pollers: int = 0
    cap: int = 1
    hot_group: deque[Copy] = field(default_factory=deque)
    """FIFO: the hot message group's copies, which one batch at a time may hold."""
    group_held: bool = False
    receive: Bucket | None = None
    """FIFO: messages received per second (the queue's throughput quota)."""
    lambda_slots: int = 0
    """Account concurrency one simulated invocation holds (0: not a Lambda worker)."""


def simulate(
    app: App,
    profile: Profile,
    *,
    seed: int = 1,
    duration_s: float = 300.0,
    platform: Platform | None = None,
    quotas: Quotas | None = None,
) -> Result:
    """Play ``profile`` through ``app`` for ``duration_s`` simulated seconds."""
    return Simulation(
        app, profile, seed, duration_s, platform or Platform(), quotas or load()
    ).run()


class Simulation:
    """One run; ``run`` returns its timeline."""

    def __init__(  # noqa: PLR0917 - built by simulate() only
        self,
        app: App,
        profile: Profile,
        seed: int,
        duration_s: float,
        platform: Platform,
        quotas: Quotas,
    ) -> None:
        self.app, self.profile, self.platform, self.quotas = app, profile, platform, quotas
        self.rng = random.Random(seed)
        self.env = simpy.Environment()
        self.duration = duration_s
        self.flow: Flow = flow(app, profile)
        peak = max(profile.rate, 1e-9)
        self.lot = max(1.0, peak / LOTS_PER_S)
        self.timeline = Timeline(duration_s)
        self.shared = simpy.Resource(self.env, capacity=1)
        self.lanes: dict[str, Lane] = {}
        self.buckets: dict[str, Bucket] = {}
        self.api_bucket: Bucket | None = None
        self.slots: Pool | None = None
        """The account's Lambda concurrency, shared by the API and every Lambda worker."""
        self.entered = 0

    # --- setup ------------------------------------------------------------------------

    def run(self) -> Result:
        self._limits()
        for stage in self.flow.stages:
            if stage.spec is not None and (stage.share or stage.fed):
                lane = self._lane(stage)
                self.lanes[stage.name] = lane
                self.env.process(self._scaler(lane))
                for _ in range(lane.pollers):
                    self.env.process(self._poller(lane))
        if self.platform.clients:
            for _ in range(self.platform.clients):
                self.env.process(self._client())
        else:
            self.env.process(self._arrivals())
        for lane in self.lanes.values():
            if lane.stage.fed:
                self.env.process(self._feed(lane))
        self.env.process(self._sample())
        self.env.run(until=self.duration)
        waiting = {n: len(lane.waiting) + len(lane.hot_group) for n, lane in self.lanes.items()}
        return self.timeline.result(waiting, self.lot, self.platform.name)

    def _limits(self) -> None:
        if not self.platform.quotas_apply:
            return
        q, deployed = self.quotas, self.profile.deployed
        if self.app.api is not None:
            rate = min(deployed.api_rate, q.figure("apigw_account_rps") or math.inf)
            burst = min(deployed.api_burst, q.figure("apigw_account_burst") or math.inf)
            # A lot's requests arrive at once; the real bucket meets them one by one, so
            # the simulated one banks a few lots or it would refuse Poisson clumps of lots.
            burst = max(burst, LOTS_BANKED * self.lot)
            self.api_bucket = Bucket(rate, burst, tokens=burst)
        cap = int(q.figure("lambda_concurrency") or 1000)
        self.slots = Pool(self.env, cap, free=cap)
        default = q.figure("ddb_ondemand_table_wru") or math.inf
        for name in table_loads(self.app, self.flow, self.profile, self.profile.rate):
            wru = deployed.table_quota(name, "write", default) or math.inf
            self.buckets[name] = Bucket(wru, wru, tokens=wru)
        partition = q.figure("ddb_partition_wcu") or math.inf
        for stage in self.flow.stages:
            if stage.spec is not None:
                # the hot key spread over N suffixes lands on N partitions
                hot = partition * deployed.shards(stage.name)
                for table in stage.spec.writes:
                    self.buckets[f"{table}#{stage.name}"] = Bucket(hot, hot, hot)

    def _lane(self, stage: Stage) -> Lane:
        spec = stage.spec
        assert spec is not None
        q = self.quotas
        group = max(1.0, self.lot / spec.batch_size)
        if spec.source is Source.STREAM:
            loads = table_loads(self.app, self.flow, self.profile, self.profile.rate)
            shards = loads[spec.table or ""].partitions if spec.table in loads else 1
            real = shards * spec.parallelization if self.platform.quotas_apply else 1
            lane = Lane(stage, group, cap=max(1, math.ceil(real / group)))
            lane.pollers = lane.cap
            return self._on_lambda(lane)
        if spec.runtime is Runtime.CONTAINER and self.platform.quotas_apply:
            lane = Lane(stage, group, cap=max(1, spec.max_tasks))
            lane.pollers = spec.min_tasks
            return lane
        most = q.figure("sqs_esm_max_batches") or spec.max_invocations
        real = min(spec.max_invocations, int(most))
        lane = Lane(stage, group, cap=max(1, math.ceil(real / group)))
        start = q.figure("sqs_esm_initial_batches") or real
        first = real if not self.platform.quotas_apply else min(real, int(start))
        lane.pollers = max(1, math.ceil(first / group))
        fifo = q.figure("sqs_fifo_batched_messages")
        if spec.source.is_fifo and fifo and self.platform.quotas_apply:
            lane.receive = Bucket(fifo, fifo, tokens=fifo)
        return self._on_lambda(lane)

    def _on_lambda(self, lane: Lane) -> Lane:
        """A Lambda lane's invocations draw on the account's concurrency."""
        if self.slots is not None:
            lane.lambda_slots = min(self.slots.size, max(1, round(lane.group)))
        return lane

    # --- the entry --------------------------------------------------------------------

    def _rate(self, now: float) -> float:
        p = self.profile
        start = self.duration * BURST_START
        in_burst = p.burst_s > 0 and start <= now < start + p.burst_s
        return p.rate * (p.burst_factor if in_burst else 1.0)

    def _arrivals(self) -> Generator[Any, Any, None]:
        per_s = self.profile.rate / self.lot
        while self.profile.rate > 0:
            gap = 1 / per_s if self.platform.even else self.rng.expovariate(per_s)
            yield self.env.timeout(gap)
            if self.platform.orders is not None and self.entered >= self.platform.orders:
                return
            size = self.lot * self._rate(self.env.now) / self.profile.rate
            self.env.process(self._enter(size))

    def _client(self) -> Generator[Any, Any, None]:
        while self.platform.orders is None or self.entered < self.platform.orders:
            yield from self._enter(1.0)

    def _feed(self, lane: Lane) -> Generator[Any, Any, None]:
        per_s = lane.stage.fed / self.lot
        while True:
            yield self.env.timeout(self.rng.expovariate(per_s))
            event = Event(self.lot, self.env.now)
            self.timeline.entered(event.n)
            self._deliver(lane, event)

    def _enter(self, size: float) -> Generator[Any, Any, None]:
        self.entered += 1
        event = Event(size, self.env.now)
        self.timeline.entered(size)
        if self.app.api is not None:
            if self.api_bucket is not None:
                self.api_bucket.ready(size, self.env.now)
                let_in = min(size, self.api_bucket.tokens)
                self.api_bucket.tokens -= let_in
                if let_in < size:  # the rest gets 429
                    self.timeline.refused(size - let_in)
                if let_in <= 0:
                    return
                size = event.n = let_in
            served = yield from self._api(size)
            if served < size:  # throttled by the account's concurrency: an error answer
                self.timeline.refused(size - served)
            if served <= 0:
                return
            size = event.n = served
            for table in self.flow.entry_tables:
                if not (yield from self._write(table, size, None)):
                    self.timeline.refused(size)
                    return
        lanes = [self.lanes[s.name] for s in self.flow.stages if s.share and s.name in self.lanes]
        streams = [
            lane for lane in lanes if lane.stage.spec and lane.stage.spec.source is Source.STREAM
        ]
        targets = streams or [lane for lane in lanes if lane.stage.spec is not None]
        if not targets:
            self.timeline.done(event, self.env.now)
            return
        for lane in targets:
            self._deliver(lane, event)

    def _api(self, size: float) -> Generator[Any, Any, float]:
        """Run ``size`` requests; the ones no concurrency is free for are refused."""
        seconds = self._time(API, 1)
        slots = self.slots
        if slots is None:
            yield from self._hold(API, seconds, 1)
            return size
        got = slots.take_now(math.ceil(size))
        if got:
            yield self.env.timeout(seconds)
            slots.give(got)
        return min(size, float(got))

    # --- delivery, polling, settling -----------------------------------------------------

    def _deliver(self, lane: Lane, event: Event, copy: Copy | None = None) -> None:
        if copy is None:
            copy = Copy(event, self.rng.random() < self.profile.poison, self.rng.random())
            event.pending += 1
            self.timeline.copies["created"] += 1
        if self._in_hot_group(lane, copy):
            lane.hot_group.append(copy)
        else:
            lane.waiting.append(copy)
        self._wake(lane)

    @staticmethod
    def _wake(lane: Lane) -> None:
        if lane.wake is not None and not lane.wake.triggered:
            lane.wake.succeed()

    def _scaler(self, lane: Lane) -> Generator[Any, Any, None]:
        """The event source adds pollers by the documented rate while records wait."""
        spec = lane.stage.spec
        assert spec is not None
        if not self.platform.quotas_apply or spec.source is Source.STREAM:
            return
        container = spec.runtime is Runtime.CONTAINER
        per_minute = self.quotas.figure("sqs_esm_scale_per_minute") or 0.0
        banked = 0.0
        while lane.pollers < lane.cap:
            step = SCALE_OUT_S if container else 1.0
            yield self.env.timeout(step)
            if not lane.waiting:
                continue
            if container:
                target = sum(c.event.n for c in lane.waiting) / (
                    task_throughput(spec) * SCALE_OUT_S
                )
                more = max(0, min(lane.cap, math.ceil(target)) - lane.pollers)
            else:
                banked += per_minute / 60 / lane.group
                more = min(int(banked), lane.cap - lane.pollers)
                banked -= more
            for _ in range(more):
                lane.pollers += 1
                self.env.process(self._poller(lane))

    def _poller(self, lane: Lane) -> Generator[Any, Any, None]:
        spec = lane.stage.spec
        assert spec is not None
        idle = self.platform.stream_idle_s[0]
        while True:
            if not lane.waiting and (lane.group_held or not lane.hot_group):
                if spec.source is Source.STREAM:
                    yield self.env.timeout(idle)
                    idle = min(2 * idle, self.platform.stream_idle_s[1])
                    continue
                if lane.wake is None or lane.wake.triggered:
                    lane.wake = self.env.event()  # every idle poller waits on this one
                yield lane.wake
                continue
            idle = self.platform.stream_idle_s[0]
            if spec.batching_window_s and self._events(lane) < spec.batch_size * lane.group:
                yield self.env.timeout(spec.batching_window_s)
            # An invocation the account's concurrency throttles waits, its records queued.
            slots = self.slots if lane.lambda_slots else None
            if slots is not None:
                yield from slots.wait(lane.lambda_slots)
            hot, batch = self._take(lane, spec.batch_size * lane.group)
            if not batch and not hot:
                if slots is not None:
                    slots.give(lane.lambda_slots)
                continue
            taken = [*hot, *batch]
            self.timeline.copies["processing"] += len(taken)
            records = sum(c.event.n for c in taken)
            if lane.receive is not None:
                yield self.env.timeout(lane.receive.owe(records, self.env.now))
            per_group = max(1, round(sum(c.event.n for c in batch) / lane.group))
            seconds = self._time(spec.name, per_group, spec) if batch else 0.0
            # the hot group's records run one after another, whatever the batch's size
            seconds = max(seconds, self._serial(spec, sum(c.event.n for c in hot)))
            yield from self._hold(spec.name, seconds, per_group)
            if slots is not None:
                slots.give(lane.lambda_slots)
            for copy in taken:
                self.timeline.copies["processing"] -= 1
                yield from self._settle(lane, copy)
            if hot:  # the group is free again: a waiting poller may take it
                lane.group_held = False
                self._wake(lane)

    def _events(self, lane: Lane) -> float:
        return sum(c.event.n for c in lane.waiting) + sum(c.event.n for c in lane.hot_group)

    def _in_hot_group(self, lane: Lane, copy: Copy) -> bool:
        """A FIFO copy of the hot message group (one group: one batch at a time holds it)."""
        spec = lane.stage.spec
        return bool(
            spec is not None
            and spec.source.is_fifo
            and not copy.duplicate
            and copy.draw < self.profile.hot_share(spec.name)
        )

    def _take(self, lane: Lane, most: float) -> tuple[list[Copy], list[Copy]]:
        """A batch: the hot group's copies (if no batch holds the group), then the rest."""
        hot = [] if lane.group_held else self._fill(lane.hot_group, most)
        lane.group_held = lane.group_held or bool(hot)
        size = sum(c.event.n for c in hot)
        return hot, self._fill(lane.waiting, most - size, started=bool(hot))

    @staticmethod
    def _fill(queue: deque[Copy], most: float, *, started: bool = False) -> list[Copy]:
        taken: list[Copy] = []
        size = 0.0
        while queue and ((not taken and not started) or size + queue[0].event.n <= most):
            copy = queue.popleft()
            taken.append(copy)
            size += copy.event.n
        return taken

    def _serial(self, spec: WorkerSpec, records: float) -> float:
        """Seconds for ``records`` of one group, one at a time."""
        if not records:
            return 0.0
        spread = math.exp(self.rng.gauss(-SIGMA * SIGMA / 2, SIGMA))
        return records * self.profile.ms(spec.name, batch=spec.batch) / 1000 * spread

    def _settle(self, lane: Lane, copy: Copy) -> Generator[Any, Any, None]:
        spec = lane.stage.spec
        assert spec is not None
        event = copy.event
        copy.receives += 1
        if copy.duplicate:  # found by the precheck, or refused by its claim or transaction
            refused = idempotency_units(spec, self.profile.duplicates).copy_wcu
            if refused:
                yield from self._write(IDEMPOTENCY_TABLE, event.n * refused, None)
            self.timeline.duplicate(event.n)
            self.timeline.copies["duplicates settled"] += 1
            return
        if copy.poison:
            self._finish(event, dead=True, where=spec.name)
            return
        ok = True
        for table in spec.writes:
            ok = ok and (
                yield from self._write(
                    table,
                    event.n * TRANSACTION_UNITS,
                    copy.draw < self.profile.hot_share(spec.name, table) and f"{table}#{spec.name}",
                )
            )
        if ok and spec.idempotent:
            units = idempotency_units(spec, self.profile.duplicates).new_wcu
            ok = yield from self._write(IDEMPOTENCY_TABLE, event.n * units, None)
        if not ok:
            if copy.receives >= spec.max_receive_count:
                self._finish(event, dead=True, where=spec.name)
                return
            ceiling = min(spec.visibility_timeout_s, spec.backoff_base_s * 2 ** (copy.receives - 1))
            self.env.process(self._later(lane, copy, self.rng.uniform(ceiling / 2, ceiling)))
            return
        if spec.source.is_queue and self.rng.random() < self.profile.duplicates:
            self.timeline.copies["duplicates"] += 1
            self._deliver(lane, event, Copy(event, False, 1.0, duplicate=True))
        if spec.publishes:
            for stage in self.flow.stages:
                target = self.lanes.get(stage.name)
                if (
                    target is not None
                    and stage.spec is not None
                    and stage.spec.source is Source.SNS_QUEUE
                    and stage.share
                ):
                    self._deliver(target, event)
        self._finish(event, dead=False, where=spec.name)

    def _later(self, lane: Lane, copy: Copy, delay: float) -> Generator[Any, Any, None]:
        self.timeline.copies["delayed"] += 1
        yield self.env.timeout(delay)
        self.timeline.copies["delayed"] -= 1
        self._deliver(lane, copy.event, copy)

    def _finish(self, event: Event, *, dead: bool, where: str) -> None:
        event.pending -= 1
        self.timeline.copies["dead" if dead else "done"] += 1
        if dead:
            self.timeline.dead(event.n, where, first=not event.lost)
            event.lost = True
        if event.pending == 0 and not event.lost:
            self.timeline.done(event, self.env.now)

    # --- time and writes -----------------------------------------------------------------

    def _time(self, name: str, records: int, spec: WorkerSpec | None = None) -> float:
        if self.platform.invocation_s is not None:
            return self.platform.invocation_s(self.rng, name, records)
        spread = math.exp(self.rng.gauss(-SIGMA * SIGMA / 2, SIGMA))
        if spec is None:
            return self.profile.ms(API) / 1000 * spread
        return batch_seconds(spec, self.profile, min(records, spec.batch_size)) * spread

    def _hold(self, name: str, seconds: float, records: int) -> Generator[Any, Any, None]:
        if self.platform.shared_s is None:
            yield self.env.timeout(seconds)
            return
        shared = min(seconds, self.platform.shared_s(self.rng, name, records))
        with self.shared.request() as turn:
            yield turn
            yield self.env.timeout(shared)
        yield self.env.timeout(seconds - shared)

    def _write(self, table: str, units: float, hot: str | bool | None) -> Generator[Any, Any, bool]:
        buckets = [self.buckets.get(table)] + (
            [self.buckets.get(hot)] if isinstance(hot, str) else []
        )
        live = [b for b in buckets if b is not None]
        if not live:
            return True
        for attempt in range(SDK_RETRIES):
            if all(b.ready(units, self.env.now) for b in live):
                for bucket in live:
                    bucket.tokens -= units
                return True
            self.timeline.throttled(units)
            yield self.env.timeout(SDK_BASE_S * 2**attempt)
        return False

    def _sample(self) -> Generator[Any, Any, None]:
        while True:
            yield self.env.timeout(1.0)
            self.timeline.backlog(
                self.env.now, {name: self._events(lane) for name, lane in self.lanes.items()}
            )
