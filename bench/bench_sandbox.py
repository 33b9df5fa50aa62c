"""The sandbox end to end: orders/s from HTTP POST until every subscribed worker is done.

Peer: moto's own SQS ceiling on the same server in the same run (send, receive, delete in
batches of 10 on a shallow queue), expressed per order as 3 deliveries (inventory, receipts,
audit). The sandbox can never beat it, since each order needs those deliveries and much
more; the ratio says how much of moto's raw SQS speed the whole pipeline keeps. Full runs
also save py-spy profiles of the moto server and of the sandbox process in bench/profiles/,
taken over a run of their own: py-spy pauses what it samples.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bench.harness import Row, median_spread
from demo.traffic import place_orders
from events import ORDER_PLACED
from sluice.demo import JsonClient, wait_until
from sluice.demo.report import percentile
from sluice.local.logs import LogSink
from sluice.local.sandbox import Sandbox

PROFILES = Path(__file__).resolve().parent / "profiles"
DELIVERIES_PER_ORDER = 3
CLIENT_THREADS = 8
LONG_ORDERS = 5000
"""The long unpaced run: does the rate hold as tables grow and queues deepen?"""
PACED_SHARE = 0.5
"""The latency run offers this share of the unpaced rate just measured (a load with headroom)."""


def run(quick: bool) -> list[Row]:
    """Startup, then one e2e run of 500 orders (quick: 30) and moto's SQS ceiling."""
    orders = 30 if quick else 500
    startups: list[float] = []
    for _ in range(0 if quick else 2):
        with Sandbox(sink=LogSink(None)) as box:
            startups.append(box.startup_s)
    calls = _Calls()
    log = Path("bench/.out/sandbox.log")  # kept, so a run that misses an order can be traced
    with Sandbox(sink=LogSink(log), botocore_hooks=(("before-call", calls),)) as box:
        startups.append(box.startup_s)
        calls.count = 0
        moto_began = _cpu_s(box.server.pid if box.server else None)
        elapsed, latencies = _end_to_end(box, orders)
        made = calls.count
        moto_cpu = _cpu_s(box.server.pid if box.server else None)
        ceiling = _sqs_ceiling(box, messages=100 if quick else 1000)
        paced_rate = PACED_SHARE * orders / elapsed
        _, paced = _end_to_end(box, 10 if quick else 150, rate=paced_rate)
        long_orders = orders if quick else LONG_ORDERS
        long_elapsed, _ = _end_to_end(box, long_orders)  # on the tables and queues grown so far
        profiled = not quick and _profiled_run(box, orders)  # last: it grows them further
    if profiled:
        _summarize()
    throughput = orders / elapsed
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    start, start_spread = median_spread(startups)
    note = (
        f"{orders} orders, {CLIENT_THREADS} client threads, unpaced; {made / orders:.1f} AWS "
        f"calls per order, moto served {made / elapsed:.0f} calls/s"
    )
    if moto_began is not None and moto_cpu is not None:
        note += f", using {1000 * (moto_cpu - moto_began) / orders:.0f} ms of its CPU per order"
    return [
        Row(
            "sandbox e2e throughput",
            "orders/s",
            throughput,
            f"moto raw SQS ceiling ({DELIVERIES_PER_ORDER} deliveries/order)",
            ceiling,
            "ratio >= 0.5",
            throughput / ceiling >= 0.5,
            note=note,
        ),
        Row(
            f"sandbox e2e throughput, {long_orders} orders (after the runs above)",
            "orders/s",
            long_orders / long_elapsed,
            f"the {orders}-order rate",
            throughput,
            "ratio >= 0.8",
            long_orders / long_elapsed / throughput >= 0.8,
            note="does the rate hold as tables grow and queues deepen",
        ),
        Row(
            "sandbox e2e latency p50",
            "s",
            p50,
            "-",
            None,
            "< 1 s",
            p50 < 1.0,
            spread=f"min-max {min(latencies):.3g}-{max(latencies):.3g}",
            runs=len(latencies),
            note="HTTP POST -> every subscribed worker done",
        ),
        Row("sandbox e2e latency p99", "s", p99, "-", None, "", None, runs=len(latencies)),
        Row(
            "sandbox e2e latency p50, paced at half the unpaced rate",
            "s",
            statistics.median(paced),
            "-",
            None,
            "< 1 s",
            statistics.median(paced) < 1.0,
            spread=f"min-max {min(paced):.3g}-{max(paced):.3g}",
            runs=len(paced),
            note=f"{paced_rate:.1f} orders/s offered",
        ),
        Row(
            "sandbox e2e latency p99, paced at half the unpaced rate",
            "s",
            percentile(paced, 0.99),
            "-",
            None,
            "< 2 s",
            percentile(paced, 0.99) < 2.0,
            runs=len(paced),
        ),
        Row(
            "sandbox startup",
            "s",
            start,
            "-",
            None,
            "< 2 s",
            start < 2.0,
            spread=start_spread,
            runs=len(startups),
            note="moto child, provisioning, pollers, API",
        ),
    ]


class _Calls:
    """Counts the AWS calls the sandbox makes (a botocore ``before-call`` hook)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, **_: object) -> None:
        with self._lock:
            self.count += 1


def _end_to_end(box: Sandbox, orders: int, rate: float = 10_000.0) -> tuple[float, list[float]]:
    """Seconds from the first POST until every order is done, and each order's latency."""
    wait_s = max(180.0, orders / 5)  # a long run at a few orders/s still finishes
    subscribers = [s.name for s in box.registry.subscribers(ORDER_PLACED)]
    began = time.time()
    placed = place_orders(JsonClient(box.api_url), orders, rate=rate, threads=CLIENT_THREADS)
    if not wait_until(
        lambda: all(box.tally.done_at(o.correlation_id, subscribers) for o in placed), wait_s
    ):
        missing = [
            o.order_id for o in placed if not box.tally.done_at(o.correlation_id, subscribers)
        ]
        raise RuntimeError(
            f"{len(missing)} orders not done after {wait_s:.0f} s, e.g. {missing[:3]}"
        )
    finished = [box.tally.done_at(o.correlation_id, subscribers) or 0.0 for o in placed]
    return max(finished) - began, [f - o.posted_at for f, o in zip(finished, placed, strict=True)]


def _sqs_ceiling(box: Sandbox, messages: int) -> float:
    """Orders/s moto's SQS alone allows: send+receive+delete, 10 per call, shallow queue."""
    assert box.clients is not None
    sqs = box.clients.sqs
    url = sqs.create_queue(QueueName="bench-ceiling")["QueueUrl"]
    body = "x" * 600  # about an envelope's size
    began = time.perf_counter()
    for _ in range(messages // 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body} for i in range(10)]
        )
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ],
        )
    per_second = messages / (time.perf_counter() - began)
    return per_second / DELIVERIES_PER_ORDER


def _cpu_s(pid: int | None) -> float | None:
    """A process's CPU seconds so far (user + system), where /proc says; else None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _profiled_run(box: Sandbox, orders: int, seconds: int = 15) -> bool:
    """Another unpaced run, unmeasured, while py-spy samples the moto server and this
    process (its sampling pauses them, so no measured run is profiled)."""
    spies = _profile(box, seconds)
    if spies:
        _end_to_end(box, orders)
    failed = [name for name, spy in spies.items() if spy.wait() != 0]
    if failed:
        print(f"py-spy failed on {', '.join(failed)}: bench/profiles/ not updated")
        for raw in PROFILES.glob(".*.raw"):
            raw.unlink()
    return bool(spies) and not failed


def _profile(box: Sandbox, seconds: int) -> dict[str, subprocess.Popen[bytes]]:
    """py-spy (samples of GIL-holding threads) on the moto server and on this process."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists() or box.server is None or box.server.pid is None:
        return {}
    PROFILES.mkdir(exist_ok=True)
    targets = {"moto": box.server.pid, "sandbox": os.getpid()}
    return {
        name: subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--rate",
                "50",
                "--gil",
                "--format",
                "raw",
                "--output",
                str(PROFILES / f".{name}.raw"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in targets.items()
    }


def _summarize(top: int = 35) -> None:
    """Each raw profile -> the functions where the most samples were, inclusive."""
    for raw in PROFILES.glob(".*.raw"):
        total, inclusive = 0, Counter[str]()
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            total += int(count)
            for frame in {f.split(" (")[0] for f in stack.split(";")}:
                inclusive[frame] += int(count)
        lines = [
            f"{raw.stem[1:]}: {total} samples of GIL-holding threads (py-spy --gil, 50 Hz)",
            "share of samples (inclusive), function",
            "",
        ]
        lines += [f"{n / max(total, 1):6.1%}  {name}" for name, n in inclusive.most_common(top)]
        (PROFILES / f"sandbox_{raw.stem[1:]}.txt").write_text("\n".join(lines) + "\n")
        raw.unlink()
