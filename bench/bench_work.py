"""``sluice work`` against the sandbox's Lambda-style poller and a plain boto3 loop.

All on one moto server, the same IO-bound worker (each record waits 50 ms, idempotency
off so the consumers are what is measured), the same load (N messages sent while the
consumer runs, timed until the queue is empty):

- ``sluice work --concurrency 50`` (a child process) against the sandbox's ``SqsPoller``
  for the same worker (5 invocations x 10 records, as its declaration says): ratio >= 1.0;
- the same ``sluice work`` against a boto3 consumer of the same concurrency
  (``bench/peers/pooled_consumer.py``: 5 receivers, a pool of 50 threads): ratio >= 1.0;
- and against the naive boto3 loop (one thread: receive 10, process each in turn, delete
  the batch), labelled as what it is: concurrency 50 against 1;
- the resident memory of the ``sluice work`` process at rest and, at most, under load.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import Row, median_spread
from bench.peers.pooled_consumer import PooledConsumer
from bench.work.app import APP, WORK_DONE
from sluice.core import Envelope
from sluice.local.logs import LogSink
from sluice.local.provision import provision
from sluice.local.server import MotoServer
from sluice.local.sqs_poller import SqsPoller
from sluice.publisher import Publisher
from sluice.runtime import Clients
from sluice.runtime.wiring import wire_worker
from sluice.target import SANDBOX_REGION, sandbox_session
from sluice.topology import Topology

ROOT = Path(__file__).resolve().parents[1]
SLEEP_MS = 50
CONCURRENCY = 50


class Bench:
    """A moto server with the bench app provisioned."""

    def __init__(self, server: MotoServer) -> None:
        self.server = server
        self.clients = Clients(sandbox_session(SANDBOX_REGION), endpoint_url=server.endpoint_url)
        self.topology = Topology(APP)
        provisioned = provision(self.clients, self.topology)
        self.spec = APP.registry.get("io").spec
        self.url = provisioned.queue_urls[self.topology.queues(self.spec).queue]
        self.topic_arn = provisioned.topic_arn

    def empty(self) -> bool:
        attrs = self.clients.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attrs.values()) == 0

    def fill(self, count: int) -> None:
        """Put ``count`` records on the queue (before the consumer polls)."""
        with Publisher.to_queue(self.clients.sqs, self.url) as out:
            for _ in range(count):
                out.add(Envelope.new(WORK_DONE, {"sleep_ms": SLEEP_MS}, source="bench"))

    def drain(self, count: int) -> float:
        """Records/s from now until the queue is empty (the consumer has just started)."""
        started = time.perf_counter()
        while not self.empty():
            time.sleep(0.02)
        return count / (time.perf_counter() - started)


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def with_work(bench: Bench, count: int) -> tuple[float, float, float]:
    """Records/s of a ``sluice work`` child, its RSS at rest and its peak RSS under load.

    The child starts on an empty queue (RSS at rest), then ``count`` records arrive."""
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        (project / "pyproject.toml").write_text('[tool.sluice]\napp = "bench.work.app:APP"\n')
        log = (project / "work.log").open("w")
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sluice.cli",
                "work",
                "io",
                "--endpoint-url",
                bench.server.endpoint_url,
                "--region",
                SANDBOX_REGION,
                "--wait-s",
                "1",
                "--concurrency",
                str(CONCURRENCY),
            ],
            cwd=project,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            deadline = time.monotonic() + 60
            while '"work started"' not in (project / "work.log").read_text():
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError((project / "work.log").read_text()[-2000:])
                time.sleep(0.1)
            time.sleep(1.0)
            rest = rss_mb(child.pid)
            peak = [rest]
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.wait(0.2):
                    peak.append(rss_mb(child.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            child.send_signal(signal.SIGSTOP)  # hold it while the queue fills
            bench.fill(count)
            child.send_signal(signal.SIGCONT)
            rate = bench.drain(count)
            sampling.set()
            sampler.join()
        finally:
            child.terminate()
            child.wait(timeout=60)
            log.close()
    return rate, rest, max(peak)


def with_poller(bench: Bench, count: int) -> float:
    """Records/s of the sandbox's Lambda-style poller on the same worker."""
    sink = LogSink(None)
    wired = wire_worker(
        APP.registry.get("io"),
        bench.clients,
        bench.topology.worker_environment(bench.topic_arn),
        log=sink,  # type: ignore[arg-type]
    )
    poller = SqsPoller(
        wired, bench.clients.sqs, bench.url, sink=sink, region=SANDBOX_REGION, prefix="benchwork"
    )
    bench.fill(count)
    poller.start()
    try:
        return bench.drain(count)
    finally:
        poller.stop()


def with_loop(bench: Bench, count: int) -> float:
    """Records/s of a plain boto3 receive -> process -> delete loop."""
    sqs, stop = bench.clients.sqs, threading.Event()

    def loop() -> None:
        while not stop.is_set():
            got = sqs.receive_message(
                QueueUrl=bench.url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            for _ in got:
                time.sleep(SLEEP_MS / 1000)
            if got:
                sqs.delete_message_batch(
                    QueueUrl=bench.url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(got)
                    ],
                )

    thread = threading.Thread(target=loop, daemon=True)
    bench.fill(count)
    thread.start()
    try:
        return bench.drain(count)
    finally:
        stop.set()
        thread.join()


def with_pool(bench: Bench, count: int) -> float:
    """Records/s of a boto3 consumer with a thread pool of ``CONCURRENCY``."""

    def work(message: dict[str, Any]) -> None:
        time.sleep(SLEEP_MS / 1000)

    consumer = PooledConsumer(bench.clients.sqs, bench.url, work, CONCURRENCY)
    bench.fill(count)
    consumer.start()
    try:
        return bench.drain(count)
    finally:
        consumer.stop()


def row(name: str, ours: list[float], peer_name: str, peer: list[float], at_least: float) -> Row:
    ratios = sorted(o / p for o, p in zip(ours, peer, strict=True))
    mine, spread = median_spread(ours)
    theirs, _ = median_spread(peer)
    return Row(
        name,
        "records/s",
        round(mine, 1),
        peer_name,
        round(theirs, 1),
        f"ratio >= {at_least}",
        mine / theirs >= at_least,  # the ratio the row shows, not another statistic
        spread=f"{spread}; ratios {', '.join(f'{r:.2f}' for r in ratios)}",
        runs=len(ours),
    )


def run(quick: bool) -> list[Row]:
    """The consumers in turn, ``rounds`` times, on one server, in one run; each round runs
    them in another order, so no consumer always meets the server just after the same one."""
    count, loop_count, rounds = (200, 40, 1) if quick else (COUNT, 80, ROUNDS)
    server = MotoServer(region=SANDBOX_REGION).start()
    measured: dict[str, list[Any]] = {"poller": [], "work": [], "pool": [], "loop": []}
    consumers: dict[str, Callable[[Bench, int], Any]] = {
        "poller": with_poller,
        "work": with_work,
        "pool": with_pool,
    }
    try:
        bench = Bench(server)
        for round_ in range(rounds):
            names = list(consumers)
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                measured[name].append(consumers[name](bench, count))
            measured["loop"].append(with_loop(bench, loop_count))
    finally:
        server.stop()
    work = [w[0] for w in measured["work"]]
    rest = max(w[1] for w in measured["work"])
    peak = max(w[2] for w in measured["work"])
    name = f"sluice work --concurrency {CONCURRENCY}, {SLEEP_MS} ms records"
    pooled = f"boto3 consumer, a pool of {CONCURRENCY} threads (bench/peers)"
    return [
        row(name, work, "sandbox Lambda-style poller (5 x 10)", measured["poller"], 1.0),
        row(name, work, pooled, measured["pool"], 1.0),
        row(
            name,
            work,
            "naive boto3 loop: one thread, one record at a time (concurrency 1)",
            measured["loop"],
            10.0,
        ),
        Row("sluice work RSS at rest", "MB", round(rest, 1), "-", None, "", None),
        Row("sluice work RSS under load (peak)", "MB", round(peak, 1), "-", None, "", None),
    ]


COUNT = 400
"""Records per consumer and round: about a second of work, so start and end weigh less."""
ROUNDS = 5
