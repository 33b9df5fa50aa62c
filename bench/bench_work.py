"""``sluice work`` against the sandbox's Lambda-style poller and plain boto3 consumers.

All on one moto server, the same IO-bound record (it waits 50 ms), the same load (N
messages put on the queue while the consumer is held with SIGSTOP, then timed until the
queue is empty). Every consumer is a process of its own (``sluice work`` as a user runs it,
the peers through ``bench/work/consumers.py``), so each one's CPU is read apart from moto's
and the bench's (``/proc/PID/stat``), next to its throughput. Rounds take the consumers in
turn, each round in another order, so drifting load hits them alike.

Like for like:

- without idempotency (worker ``io``): ``sluice work --concurrency 50`` against the sandbox's
  ``SqsPoller`` (5 invocations x 10 records, as the declaration says), against a boto3
  consumer of the same concurrency (``bench/peers/pooled_consumer.py``: 5 receivers, a pool
  of 50 threads), and against the naive boto3 loop (one thread, one record at a time),
  labelled as what it is: concurrency 50 against 1;
- with idempotency (worker ``io_once``: a claim and a completion per record): ``sluice work``
  against the same thread pool running each record under Powertools' ``idempotent_function``
  on the same DynamoDB table (a claim and a completion per record too);
- the resident memory of the ``sluice work`` process at rest and, at most, under load.

On a shared machine the throughput of a round follows the machine's load; the CPU a consumer
spends per record does not, so both are rows.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import Row, compare, median_spread
from bench.work.app import APP, WORK_DONE
from bench.work.consumers import READY
from sluice.core import Envelope
from sluice.local.provision import provision
from sluice.local.server import MotoServer
from sluice.publisher import Publisher
from sluice.runtime import Clients
from sluice.target import SANDBOX_REGION, sandbox_session
from sluice.topology import Topology

ROOT = Path(__file__).resolve().parents[1]
SLEEP_MS = 50
CONCURRENCY = 50
COUNT = 400
"""Records per consumer and round: about a second of work, so start and end weigh less."""
ROUNDS = 5
WARM = 200
"""Records each consumer runs before it is measured: the steady state of a long-lived
consumer, whose threads (``sluice work``: the runner's, and the engine's pool each keeps)
and connections already exist; the first batches of a process create them."""
SETTLE_S = 1.0
"""After the warm-up: the consumer is back to its long polls."""
POLL_S = 0.02


class Bench:
    """A moto server with the bench app provisioned."""

    def __init__(self, server: MotoServer) -> None:
        self.server = server
        self.clients = Clients(sandbox_session(SANDBOX_REGION), endpoint_url=server.endpoint_url)
        self.topology = Topology(APP)
        provisioned = provision(self.clients, self.topology)
        self.urls = {
            w.spec.name: provisioned.queue_urls[self.topology.queues(w.spec).queue]
            for w in APP.registry
        }
        self.topic_arn = provisioned.topic_arn

    def left(self, url: str) -> int:
        """Messages on the queue or in flight."""
        attrs = self.clients.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    def fill(self, url: str, count: int) -> None:
        """Put ``count`` new records on the queue."""
        with Publisher.to_queue(self.clients.sqs, url) as out:
            for _ in range(count):
                out.add(Envelope.new(WORK_DONE, {"sleep_ms": SLEEP_MS}, source="bench"))


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Run:
    """One consumer, one round: records/s, and CPU ms per record of it and of moto."""

    rate: float
    cpu_ms: float
    moto_ms: float
    rss: list[float] = field(default_factory=list)
    """The consumer's resident memory: at rest, then samples under load."""


def measure(bench: Bench, command: list[str], ready: str, worker: str, count: int) -> Run:
    """Start ``command``; once it prints ``ready`` and settles, hold it, fill its queue, let
    it go and time it until the queue is empty."""
    url = bench.urls[worker]
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        (project / "pyproject.toml").write_text('[tool.sluice]\napp = "bench.work.app:APP"\n')
        out = project / "out.log"
        with out.open("w") as log:
            child = subprocess.Popen(
                command,
                cwd=project,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        try:
            deadline = time.monotonic() + 60
            while ready not in out.read_text():
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError(out.read_text()[-2000:])
                time.sleep(0.1)
            bench.fill(url, WARM)  # a long-lived consumer's threads and connections exist
            _drained(bench, url)
            time.sleep(SETTLE_S)
            rss = [rss_mb(child.pid)]
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.wait(0.2):
                    rss.append(rss_mb(child.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            child.send_signal(signal.SIGSTOP)  # hold it while the queue fills
            bench.fill(url, count)
            moto_pid = bench.server.pid
            assert moto_pid is not None
            cpu, moto = cpu_s(child.pid), cpu_s(moto_pid)
            sampler.start()
            started = time.perf_counter()
            child.send_signal(signal.SIGCONT)
            _drained(bench, url)
            elapsed = time.perf_counter() - started
            cpu, moto = cpu_s(child.pid) - cpu, cpu_s(moto_pid) - moto
            sampling.set()
            sampler.join()
        finally:
            child.send_signal(signal.SIGCONT)
            child.terminate()
            child.wait(timeout=60)
    return Run(count / elapsed, cpu / count * 1000, moto / count * 1000, rss)


def _drained(bench: Bench, url: str) -> None:
    while bench.left(url):
        time.sleep(POLL_S)


def work(bench: Bench, worker: str) -> Callable[[int], Run]:
    """``sluice work WORKER --concurrency 50``, as a user runs it."""
    options = f"--region {SANDBOX_REGION} --wait-s 1 --concurrency {CONCURRENCY}"
    command = [sys.executable, "-m", "sluice.cli", "work", worker, *options.split()]
    command += ["--endpoint-url", bench.server.endpoint_url]
    return lambda count: measure(bench, command, '"work started"', worker, count)


def peer(bench: Bench, kind: str, worker: str) -> Callable[[int], Run]:
    """One of ``bench/work/consumers.py``'s consumers on ``worker``'s queue."""
    command = [
        sys.executable,
        "-m",
        "bench.work.consumers",
        kind,
        "--endpoint-url",
        bench.server.endpoint_url,
        "--queue-url",
        bench.urls[worker],
        "--topic-arn",
        bench.topic_arn,
        "--worker",
        worker,
        "--concurrency",
        str(CONCURRENCY),
    ]
    return lambda count: measure(bench, command, READY, worker, count)


WORK = f"sluice work --concurrency {CONCURRENCY}, {SLEEP_MS} ms records"
POLLER = "sandbox Lambda-style poller (5 x 10)"
POOL = f"boto3 consumer, a pool of {CONCURRENCY} threads (bench/peers)"
POOL_ONCE = f"{POOL} + Powertools idempotent_function"
LOOP = "naive boto3 loop: one thread, one record at a time (concurrency 1)"


def run(quick: bool) -> list[Row]:
    """Every consumer ``rounds`` times on one server, in one run, each round in another order."""
    count, loop_count, rounds = (200, 40, 1) if quick else (COUNT, 80, ROUNDS)
    server = MotoServer(region=SANDBOX_REGION).start()
    try:
        bench = Bench(server)
        consumers: dict[str, tuple[Callable[[int], Run], int]] = {
            "work": (work(bench, "io"), count),
            "poller": (peer(bench, "poller", "io"), count),
            "pool": (peer(bench, "pool", "io"), count),
            "work once": (work(bench, "io_once"), count),
            "pool once": (peer(bench, "pool", "io_once"), count),
            "loop": (peer(bench, "loop", "io"), loop_count),
        }
        runs: dict[str, list[Run]] = {name: [] for name in consumers}
        for round_ in range(rounds):
            names = list(consumers)
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                measure_one, n = consumers[name]
                runs[name].append(measure_one(n))
    finally:
        server.stop()
    return [
        _throughput(runs["work"], POLLER, runs["poller"], 1.0),
        _throughput(runs["work"], POOL, runs["pool"], 1.0),
        _throughput(runs["work"], LOOP, runs["loop"], 10.0),
        _throughput(runs["work once"], POOL_ONCE, runs["pool once"], 1.0, idempotent=True),
        _cpu(runs["work"], POLLER, runs["poller"]),
        _cpu(runs["work"], POOL, runs["pool"]),
        _cpu(runs["work once"], POOL_ONCE, runs["pool once"], idempotent=True),
        Row(
            "sluice work RSS at rest",
            "MB",
            round(max(r.rss[0] for r in runs["work"]), 1),
            "-",
            None,
            "",
            None,
        ),
        Row(
            "sluice work RSS under load (peak)",
            "MB",
            round(max(max(r.rss) for r in runs["work"]), 1),
            "-",
            None,
            "",
            None,
        ),
    ]


def _once(name: str, idempotent: bool) -> str:
    return name.replace(",", ", idempotent,", 1) if idempotent else name


def _throughput(
    ours: list[Run], peer_name: str, theirs: list[Run], at_least: float, idempotent: bool = False
) -> Row:
    """Records/s; the ratio of each round (taken back to back) beside the medians'."""
    mine, spread = median_spread([r.rate for r in ours])
    other = statistics.median(r.rate for r in theirs)
    ratios = sorted(o.rate / p.rate for o, p in zip(ours, theirs, strict=True))
    return Row(
        _once(WORK, idempotent),
        "records/s",
        round(mine, 1),
        peer_name,
        round(other, 1),
        f"ratio >= {at_least}",
        mine / other >= at_least,  # the ratio the row shows, not another statistic
        spread=f"{spread}; each round's ratio, lowest first: "
        + ", ".join(f"{r:.2f}" for r in ratios),
        runs=len(ours),
        note=f"lowest round {ratios[0]:.2f}; moto's CPU per record: Sluice "
        f"{statistics.median(r.moto_ms for r in ours):.2f} ms, peer "
        f"{statistics.median(r.moto_ms for r in theirs):.2f} ms",
    )


def _cpu(ours: list[Run], peer_name: str, theirs: list[Run], idempotent: bool = False) -> Row:
    """The consumer process's own CPU per record (user + system, all its threads)."""
    return compare(
        _once(WORK, idempotent) + ": consumer CPU per record",
        "ms/record",
        [r.cpu_ms for r in ours],
        peer_name,
        [r.cpu_ms for r in theirs],
        max_ratio=None,
        note="the consumer process alone, from /proc; moto's and the bench's apart",
    )
