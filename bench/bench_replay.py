"""DLQ replay throughput on the sandbox's moto server, unlimited and at ``--rate 100``.

The peer of the rate-limited run is the limit itself: the figure must stay within 10% of
100 msgs/s. The unlimited run shows the limit binds (it must be well above 100/s). As in
the sandbox, a consumer drains the destination while the replay runs: moto's SendMessage
costs O(queue depth), so an undrained destination would measure moto, not the replay.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3

from app import APP
from bench.harness import Row, median_spread
from events import ORDER_PLACED
from sluice.core import Envelope
from sluice.local.provision import provision
from sluice.local.server import MotoServer
from sluice.ops.replay import ReplayOptions, replay
from sluice.runtime import Clients
from sluice.target import Target
from sluice.topology import Topology

REGION = "eu-west-1"
RATE = 100.0
SOURCE, DESTINATION = "sluice-audit-dlq", "sluice-audit"


def run(quick: bool) -> list[Row]:
    """Median msgs/s of ``repeat`` unlimited and rate-limited replays, interleaved."""
    count, repeat = (50, 1) if quick else (1000, 3)
    server = MotoServer(region=REGION).start()
    try:
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
        )
        clients = Clients(session, endpoint_url=server.endpoint_url)
        topology = Topology(APP)
        urls = provision(clients, topology).queue_urls
        target = Target(clients, topology, local=True)
        with tempfile.TemporaryDirectory() as tmp:
            audit = Path(tmp) / "audit.jsonl"
            unlimited: list[float] = []
            limited: list[float] = []
            for n in range(2 * repeat):
                _seed(clients, urls[SOURCE], count)
                rate = RATE if n % 2 else None
                options = ReplayOptions(to=DESTINATION, rate=rate, audit_path=audit)
                with _Drain(clients.sqs, urls[DESTINATION]):
                    speed = _moved_per_s(target, SOURCE, options, count)
                (limited if rate else unlimited).append(speed)
    finally:
        server.stop()
    held, free = median_spread(limited), median_spread(unlimited)
    return [
        _row(
            f"DLQ replay at --rate {RATE:g}/s ({count} msgs)",
            held,
            (f"the limit ({RATE:g}/s)", RATE),
            ("ratio 0.9-1.1", 0.9 <= held[0] / RATE <= 1.1),
            "token bucket, batches of 10; steady rate between the first and last batch",
            repeat,
        ),
        _row(
            f"DLQ replay unlimited ({count} msgs)",
            free,
            (f"the same replay at --rate {RATE:g}/s", held[0]),
            (f"> {RATE * 1.1:g} msgs/s (so the limit binds)", free[0] > RATE * 1.1),
            "send, audit (fsync), delete per batch of 10; destination drained meanwhile",
            repeat,
        ),
    ]


def _row(
    name: str,
    median: tuple[float, str],
    peer: tuple[str, float],
    target: tuple[str, bool],
    note: str,
    runs: int,
) -> Row:
    return Row(
        name=name,
        unit="msgs/s",
        sluice=median[0],
        peer_name=peer[0],
        peer=peer[1],
        target=target[0],
        met=target[1],
        spread=median[1],
        runs=runs,
        note=note,
    )


class _Drain(threading.Thread):
    """Receive and delete from a queue until stopped, as the sandbox's pollers do."""

    def __init__(self, sqs: Any, url: str) -> None:
        super().__init__(daemon=True)
        self.sqs, self.url = sqs, url
        self.done = threading.Event()

    def __enter__(self) -> _Drain:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join()

    def run(self) -> None:
        while not self.done.is_set():
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(got.get("Messages", []))
            ]
            if entries:
                self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
            else:
                self.done.wait(0.01)


class _Clock:
    """A replay progress sink that notes when each batch was done."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, int]] = []

    def start(self, total: int) -> None:
        self.marks = [(time.perf_counter(), 0)]

    def advance(self, count: int) -> None:
        self.marks.append((time.perf_counter(), self.marks[-1][1] + count))


def _moved_per_s(target: Target, source: str, options: ReplayOptions, count: int) -> float:
    """Messages per second between the first and the last batch moved (the steady rate)."""
    clock = _Clock()
    report = replay(target, source, options, clock)
    if len(report.moved) != count or report.failed:
        raise RuntimeError(f"replay moved {len(report.moved)} of {count}: {report.failed[:3]}")
    (first, done), (last, total) = clock.marks[1], clock.marks[-1]
    return (total - done) / (last - first)


def _seed(clients: Clients, url: str, count: int) -> None:
    for start in range(0, count, 10):
        entries = []
        for n in range(start, min(count, start + 10)):
            event = Envelope.new(ORDER_PLACED, {"n": n}, source="bench")
            entries.append(
                {
                    "Id": str(n - start),
                    "MessageBody": event.to_json(),
                    "MessageAttributes": {
                        "event_type": {"DataType": "String", "StringValue": event.type}
                    },
                }
            )
        clients.sqs.send_message_batch(QueueUrl=url, Entries=entries)
