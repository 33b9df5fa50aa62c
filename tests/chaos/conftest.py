"""The chaos sandbox: the real pipeline with every fault plugged in."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from app import APP
from sluice.local.logs import LogSink
from sluice.local.sandbox import Sandbox
from sluice.runtime import Middleware
from tests.chaos.faults import POISON_RATE, CrashFaults, PoisonFaults, TransientFaults
from tests.chaos.hooks import Duplicates, Hook, RelayFaults, Throttles
from tests.chaos.host import HOSTED, Host, chaos_registry
from tests.chaos.world import World

ORDERS = int(os.environ.get("SLUICE_CHAOS_ORDERS", "200"))
"""How many orders the scenario places (`make chaos` sets 2000)."""


@dataclass
class Faults:
    """Every fault of the scenario, at the rates issue 7 asks for."""

    transient: TransientFaults = field(default_factory=lambda: TransientFaults(0.10))
    poison: PoisonFaults = field(default_factory=lambda: PoisonFaults(POISON_RATE))
    crash: CrashFaults = field(default_factory=lambda: CrashFaults(0.01))
    throttles: Throttles = field(default_factory=lambda: Throttles(0.05))
    duplicates: Duplicates = field(default_factory=lambda: Duplicates(0.10))
    relay: RelayFaults = field(default_factory=RelayFaults)

    def middleware(self) -> tuple[Middleware, ...]:
        """Poison first (it decides for good), then transient failures, then crashes."""
        return (self.poison, self.transient, self.crash)

    def hooks(self) -> tuple[Hook, ...]:
        """Throttles on every DynamoDB, SNS and SQS request; relay and duplicate faults."""
        return (*self.throttles.hooks(), *self.relay.hooks(), *self.duplicates.hooks())

    def figures(self) -> dict[str, Any]:
        """What was injected."""
        return {
            "transient_by_worker": dict(self.transient.injected.counts),
            "poison_refusals_by_worker": dict(self.poison.injected.counts),
            "crashes_by_worker": dict(self.crash.injected.counts),
            "throttled_by_service": dict(self.throttles.injected.counts),
            "requests_by_service": dict(self.throttles.sent.counts),
            "events_published_twice": len(self.duplicates.copied),
            "relay_batches_failed_part_way": self.relay.batches_hit,
            "relay_entries_refused": self.relay.injected.total(),
        }


class Hops:
    """A log listener counting deliveries per worker and the relay's stream retries."""

    COUNTED = ("queue delivered", "stream delivered", "checkpoint", "bisect")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any]) -> None:
        if record.get("message") in self.COUNTED and record.get("service") == "sandbox":
            with self._lock:
                self.counts[f"{record.get('worker')} {record['message']}"] += 1


@dataclass
class Chaos:
    """The running sandbox, its faults, a fault-free view of its state, its hop counts."""

    box: Sandbox
    faults: Faults
    world: World
    hops: Hops
    host: Host
    """The process that polls ``HOSTED``'s queue, which the suite kills with SIGKILL."""


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chaos]:
    """A sandbox with every fault on; its merged log is kept in pytest's temp dir."""
    faults, hops = Faults(), Hops()
    logs = tmp_path_factory.mktemp("chaos")
    sink = LogSink(logs / "sandbox.log")
    sink.listeners.append(hops)
    box = Sandbox(
        app=APP.with_registry(chaos_registry()),
        sink=sink,
        middleware=faults.middleware(),
        botocore_hooks=faults.hooks(),
        hosted_elsewhere=(HOSTED,),
    )
    with box:
        faults.duplicates.sns = boto3.client(
            "sns",
            endpoint_url=box.endpoint_url,
            region_name=box.region,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )
        host = Host(HOSTED, box.endpoint_url, box.region, logs, seed=6)
        try:
            world = World(box.endpoint_url, box.region, box.topology)
            yield Chaos(box, faults, world, hops, host)
        finally:
            host.close()
