"""Exactly-once effects under faults: orders through the real HTTP API of a faulty sandbox.

Place ``ORDERS`` orders, cancel 10% of them (each only once its reservation is applied, so a
release never overtakes its reservation), with transient failures, poison, duplicates,
throttles, crashes and part-way relay failures. Then: every non-poison effect exactly
once, every poison event in its worker's DLQ with its reason, nothing anywhere else; fix
the poison, replay the DLQs with the ops tooling, and every effect exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from demo.traffic import Order, cancel, place_orders
from events import ORDER_CANCELLED, ORDER_PLACED
from sluice.demo import JsonClient, wait_until
from sluice.ops.replay import ReplayOptions, replay
from sluice.topology import DlqKind
from tests.chaos.conftest import ORDERS, Chaos
from tests.chaos.world import State, World, expected

RATE = 40.0
"""Orders a second through the API (moto's SQS slows down as queues get deep)."""
SETTLE_S = 90 + ORDERS * 0.1
"""How long the pipeline may take to go quiet after the last request."""

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(int(240 + ORDERS * 0.4))]


def cancel_applied(world: World, client: JsonClient, orders: list[Order], count: int) -> float:
    """Cancel ``count`` random orders, each once inventory has applied its reservation."""
    began = time.monotonic()
    waiting = random.Random(13).sample(orders, len(orders))
    chosen: list[Order] = []
    while len(chosen) < count:
        assert time.monotonic() - began < SETTLE_S, f"only {len(chosen)} placements applied"
        receipts = world.receipts([o.order_id for o in waiting])
        reserved = world.completed("inventory", list(receipts.values()))
        ready = [o for o in waiting if receipts.get(o.order_id) in reserved]
        chosen += ready[: count - len(chosen)]
        waiting = [o for o in waiting if o not in chosen]
        if len(chosen) < count:
            time.sleep(1)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda o: cancel(client, o), chosen))
    return time.monotonic() - began


def settle(chaos: Chaos, want: State) -> State:
    """Wait until nothing is in flight anywhere and the effects are the expected ones."""
    world = chaos.world
    names = [
        *world.worker_queues(),
        *world.dlq_names(DlqKind.SUBSCRIPTION, DlqKind.STREAM_FAILURE),
    ]

    def quiet() -> bool:
        return not world.busy(names) and same(world.state(), want)

    wait_until(quiet, SETTLE_S, every_s=1.0)
    time.sleep(1.0)  # a late redelivery would show up here
    assert world.busy(names) == {}, "messages still queued or in flight"
    return world.state()


def same(got: State, want: State) -> bool:
    """Equal effects (a receipt's event id is not predicted, only its existence)."""
    return (got.stock, set(got.receipts), got.audit, got.issued) == (
        want.stock,
        set(want.receipts),
        want.audit,
        want.issued,
    )


def assert_state(got: State, want: State) -> None:
    """Exactly the expected effects, with readable differences."""
    assert got.stock == want.stock
    assert sorted(set(got.receipts) ^ set(want.receipts)) == []
    assert sorted((got.audit - want.audit).items()) == []
    assert sorted((want.audit - got.audit).items()) == []
    assert sorted((got.issued - want.issued).items()) == []  # a receipt written twice
    assert sorted((want.issued - got.issued).items()) == []


def poison_letters(chaos: Chaos, orders: list[Order]) -> dict[str, tuple[int, int]]:
    """Every queue DLQ holds exactly its worker's poison events, each with reason "poison".

    Returns each DLQ's (poison events, messages): a duplicate copy is dead-lettered too.
    """
    counts = {}
    registry, poison = chaos.box.registry, chaos.faults.poison
    for dlq in chaos.box.topology.dlqs():
        if dlq.kind is not DlqKind.QUEUE:
            continue
        spec = registry.get(dlq.worker).spec
        want = {
            (t, o.order_id)
            for o in orders
            for t in (ORDER_PLACED, *([ORDER_CANCELLED] if o.cancelled else []))
            if spec.accepts(t) and poison.is_poison(t, {"order_id": o.order_id})
        }
        letters = chaos.world.peek(dlq.name)
        got = {(m.envelope["type"], m.envelope["data"]["order_id"]) for m in letters if m.envelope}
        assert got == want, dlq.name
        assert {m.failure.get("reason") for m in letters} <= {"poison"}, dlq.name
        assert {m.failure.get("worker") for m in letters} <= {dlq.worker}, dlq.name
        counts[dlq.name] = (len(want), len(letters))
    return counts


def test_every_effect_applies_exactly_once_under_faults(chaos: Chaos, tmp_path: Path) -> None:
    began = time.monotonic()
    figures: dict[str, Any] = {"orders": ORDERS}
    client = JsonClient(chaos.box.api_url)
    poison = chaos.faults.poison

    # receipts runs as a container (`sluice work`): SIGKILL or SIGTERM it at random, restart
    chaos.host.kill_at_random(every_s=(0.5, 3.0))
    orders = place_orders(client, ORDERS, rate=RATE, threads=8)
    figures["place_s"] = round(time.monotonic() - began, 1)
    figures["cancel_wait_s"] = round(cancel_applied(chaos.world, client, orders, ORDERS // 10), 1)
    chaos.host.calm(after_kills=2)
    figures["receipts_process_killed"] = chaos.host.kills
    figures["receipts_process_drained"] = chaos.host.signals.count(signal.SIGTERM)
    assert chaos.host.kills >= 2, "the receipts process was not killed"

    def healthy(event_type: str, order: Order) -> bool:
        return not poison.is_poison(event_type, {"order_id": order.order_id})

    settle_began = time.monotonic()
    assert_state(settle(chaos, expected(orders, healthy)), expected(orders, healthy))
    figures["settle_s"] = round(time.monotonic() - settle_began, 1)
    poisoned = poison_letters(chaos, orders)
    figures["dlq_before_replay"] = {name: letters for name, (_, letters) in poisoned.items()}
    figures["poison_events"] = {name: events for name, (events, _) in poisoned.items()}
    assert sum(figures["poison_events"].values()) > 0, "no poison was injected"

    poison.enabled = False  # the cause is fixed
    chaos.host.fix_poison()
    replay_began = time.monotonic()
    options = ReplayOptions(audit_path=tmp_path / "replay-audit.jsonl")
    moved = {}
    for name, depth in figures["dlq_before_replay"].items():
        if depth:
            report = replay(chaos.world.target, name, options)
            assert report.failed == [], report.to_json()
            moved[name] = len(report.moved)
    everything = expected(orders, lambda t, o: True)
    assert_state(settle(chaos, everything), everything)
    figures["replay_and_settle_s"] = round(time.monotonic() - replay_began, 1)
    figures["replayed"] = moved
    figures["dlq_after_replay"] = {
        name: chaos.world.depth(name) for name in chaos.world.dlq_names(DlqKind.QUEUE)
    }
    assert set(figures["dlq_after_replay"].values()) == {0}
    audit_lines = (tmp_path / "replay-audit.jsonl").read_text().splitlines()
    assert len(audit_lines) == sum(moved.values())

    faults = chaos.faults
    assert faults.transient.injected.total() > 0 and faults.crash.injected.total() > 0
    assert faults.throttles.injected.total() > 0 and faults.duplicates.copied
    assert faults.relay.batches_hit > 0
    figures["total_s"] = round(time.monotonic() - began, 1)
    figures["cancelled"] = sum(o.cancelled for o in orders)
    figures["batch_metrics"] = {  # crashed invocations never emit theirs, as on Lambda
        w: {n: chaos.box.tally.count(w, n) for n in ("processed", "duplicates", "permanent")}
        for w in chaos.box.workers
    }
    figures["hops"] = dict(chaos.hops.counts)
    figures["injected"] = faults.figures()
    report_json(figures)


def report_json(figures: dict[str, Any]) -> None:
    """Print the figures; also write them where ``SLUICE_CHAOS_REPORT`` says, if set."""
    text = json.dumps(figures, indent=2, sort_keys=True)
    print(text)
    target = os.environ.get("SLUICE_CHAOS_REPORT")
    if target:
        Path(target).write_text(text + "\n")
