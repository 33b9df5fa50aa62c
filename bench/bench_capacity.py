"""`sluice capacity --simulate` against the sandbox it models: prediction beside measurement.

The sandbox runs the reference app on one machine. We measure, in one run: each hop's time
per invocation (the "invocation end" log lines of a paced run, where nothing contends) and
the API's time per request; moto's CPU per order, which every hop shares (one moto
process serves every call); then the bench's own figures: the unpaced throughput (8 client
threads, as bench_sandbox) and the p50 paced at half that rate. The simulation is fed the
measured times only (no figure is fitted to the results) and predicts both; the target is
within 25%.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import time
from collections import defaultdict
from pathlib import Path

from app import APP
from bench.bench_sandbox import CLIENT_THREADS, PACED_SHARE, _cpu_s, _end_to_end
from bench.harness import Row
from demo.traffic import place_orders
from sluice.capacity.profile import Profile
from sluice.capacity.simulation import Platform, simulate
from sluice.demo import JsonClient, wait_until
from sluice.local.logs import LogSink
from sluice.local.sandbox import Sandbox
from sluice.local.stream_poller import IDLE_S

LOG = Path("bench/.out/capacity.log")
TOLERANCE = 0.25


def run(quick: bool) -> list[Row]:
    """Measure service times, run the bench, simulate it, and compare."""
    calibrate, unpaced = (20, 60) if quick else (80, 300)
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.unlink(missing_ok=True)
    with Sandbox(sink=LogSink(LOG)) as box:
        pid = box.server.pid if box.server else None
        before, began = _cpu_s(pid), time.time()
        placed = place_orders(JsonClient(box.api_url), calibrate, rate=4.0, threads=2)
        subscribers = [s.name for s in box.registry.subscribers("order.placed")]
        wait_until(
            lambda: all(box.tally.done_at(o.correlation_id, subscribers) for o in placed), 120
        )
        moto_per_order = ((_cpu_s(pid) or 0.0) - (before or 0.0)) / calibrate
        times = _service_times(LOG, began, {o.correlation_id: o.posted_at for o in placed})
        elapsed, _ = _end_to_end(box, unpaced)
        throughput = unpaced / elapsed
        paced_rate = PACED_SHARE * throughput
        _, paced = _end_to_end(box, 20 if quick else 150, rate=paced_rate)
    measured_p50 = statistics.median(paced)
    share = min(1.0, moto_per_order / max(sum(_mean(v) for v in times.values()), 1e-9))
    profile = Profile(rate=paced_rate)
    unpaced_run = simulate(
        APP,
        profile,
        seed=1,
        duration_s=600,
        platform=_platform(times, share, clients=CLIENT_THREADS, orders=unpaced),
    ).summary()
    paced_run = simulate(
        APP,
        profile,
        seed=1,
        duration_s=20 + (20 if quick else 150) / paced_rate,
        platform=_platform(times, share, orders=20 if quick else 150, even=True),
    ).summary()
    predicted = unpaced_run["makespan_throughput_per_s"]
    predicted_p50 = paced_run["p50_s"]
    fed = ", ".join(f"{k} {1000 * _mean(v):.0f} ms" for k, v in sorted(times.items()))
    note = f"fed: {fed}; moto share {share:.2f} ({1000 * moto_per_order:.0f} ms CPU/order)"
    return [
        _row("capacity sim: sandbox e2e throughput", "orders/s", predicted, throughput, note),
        _row(
            "capacity sim: sandbox e2e p50, paced at half the unpaced rate",
            "s",
            predicted_p50,
            measured_p50,
            f"{paced_rate:.1f} orders/s offered",
        ),
    ]


def _row(name: str, unit: str, predicted: float, measured: float, note: str) -> Row:
    ratio = predicted / measured if measured else math.inf
    return Row(
        name,
        unit,
        predicted,
        "measured in the same run",
        measured,
        f"ratio {1 - TOLERANCE:g}-{1 + TOLERANCE:g}",
        abs(ratio - 1) <= TOLERANCE,
        note=note,
    )


def _service_times(log: Path, since: float, posted: dict[str, float]) -> dict[str, list[float]]:
    """Seconds per record of each worker's invocations, and the API's per request."""
    found: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if float(record.get("ts", 0)) < since:
            continue
        if record.get("message") == "invocation end" and record.get("records"):
            found[str(record["worker"])].append(
                float(record["duration_ms"]) / 1000 / int(record["records"])
            )
        cid = record.get("correlation_id")
        if record.get("message") == "api request" and cid in posted:
            found["api"].append(float(record["ts"]) - posted[cid])
    return dict(found)


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def _platform(
    times: dict[str, list[float]],
    share: float,
    *,
    clients: int = 0,
    orders: int,
    even: bool = False,
) -> Platform:
    def invocation(rng: random.Random, name: str, records: int) -> float:
        each = rng.choice(times.get(name) or [0.01])
        return each * ((1 - share) + share * records)

    def shared(rng: random.Random, name: str, records: int) -> float:
        return _mean(times.get(name, [])) * share * records

    return Platform(
        name="sandbox",
        quotas_apply=False,
        stream_idle_s=IDLE_S,
        invocation_s=invocation,
        shared_s=shared,
        clients=clients,
        orders=orders,
        even=even,
    )
