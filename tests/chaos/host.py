"""A container worker's process, so the chaos suite can kill it for real.

``python -m tests.chaos.host WORKER ENDPOINT REGION LOG`` runs WORKER as ``sluice work``
runs it (``sluice.container.Runner``: long polling, heartbeat, drain on SIGTERM) against
the sandbox at ENDPOINT, until it is killed. ``Host`` starts one, kills it at seeded random
moments (SIGKILL, or SIGTERM and its drain) and starts it again.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from app import APP
from sluice.container import Runner, WorkSettings
from sluice.core import Envelope
from sluice.local.logs import LogSink
from sluice.runtime import Clients, Registry, Source, Worker
from sluice.runtime.wiring import wire_worker
from sluice.target import sandbox_session
from sluice.topology import Topology
from tests.chaos.faults import POISON_RATE, PoisonFaults

TIMEOUT_S = 5
"""Worker timeout in the chaos registry: a crashed batch comes back after 6x this."""
HOSTED = "receipts"
"""The worker whose poller runs in its own process, killed with SIGKILL at random moments."""
RECEIVES_WHEN_KILLED = 10
"""Their redrive budget: enough for the kills one message can meet in this storm."""
DRAIN_S = 2.0
"""SIGTERM: records in flight get this long, then go back to the queue at once."""


def chaos_registry() -> Registry:
    """The shipped workers, with a short timeout so crashed batches come back quickly."""
    made = []
    for item in APP.registry:
        spec = item.spec
        if spec.source is not Source.STREAM:
            spec = replace(spec, timeout_s=TIMEOUT_S, timeout_margin_s=1.0)
        if spec.name == HOSTED:  # killed every 0.5-3 s, far more often than any real task:
            # a message in flight at several SIGKILLs in a row would spend 5 receives
            spec = replace(spec, max_receive_count=RECEIVES_WHEN_KILLED)
        made.append(Worker(spec=spec, fn=item.fn, catalog=item.catalog))
    return Registry(made)


class HostedPoison(PoisonFaults):
    """The suite's poison, in the host: the same events, until the cause is fixed (a file)."""

    def __init__(self, fixed: Path) -> None:
        super().__init__(POISON_RATE)
        self.fixed = fixed

    def before_record(self, worker: str, envelope: Envelope[Any]) -> None:
        """Refuse poison for good, unless the suite has fixed the cause."""
        self.enabled = not self.fixed.exists()
        super().before_record(worker, envelope)


def serve(worker: str, endpoint: str, region: str, log: Path) -> None:
    """Poll ``worker``'s queue on the sandbox until killed; poison is off once ``log``'s
    folder holds ``poison-fixed``."""
    topology = Topology(APP.with_registry(chaos_registry()))
    clients = Clients(sandbox_session(region), endpoint_url=endpoint)
    topic_arn = clients.sns.create_topic(Name=topology.topic)["TopicArn"]  # exists: its ARN
    sink = LogSink(log)
    wired = wire_worker(
        topology.registry.get(worker),
        clients,
        topology.worker_environment(topic_arn),
        log=sink,  # type: ignore[arg-type]
        middleware=(HostedPoison(log.parent / "poison-fixed"),),
    )
    queue = clients.sqs.get_queue_url(QueueName=topology.queues(wired.spec).queue)["QueueUrl"]
    runner = Runner(
        wired,
        clients.sqs,
        queue,
        region=region,
        settings=WorkSettings(concurrency=20, wait_s=1, drain_s=DRAIN_S),
    )
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    clean = runner.run()
    sink.flush()
    if not clean:  # threads still hold records handed back: leave without joining them
        os._exit(0)


class Host:
    """Runs ``serve`` in a child process; ``kill_at_random`` SIGKILLs and restarts it."""

    def __init__(self, worker: str, endpoint: str, region: str, logs: Path, seed: int) -> None:
        self.command = [sys.executable, "-m", __name__, worker, endpoint, region]
        self.logs = logs
        self.kills = 0
        self.signals: list[signal.Signals] = []
        """What ended each killed process: SIGKILL, or SIGTERM (a drain)."""
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._process = self._start()
        self._thread: threading.Thread | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        log = self.logs / f"host-{self.kills}.log"
        return subprocess.Popen(
            [*self.command, str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def kill_at_random(self, every_s: tuple[float, float]) -> None:
        """From now until ``calm``: SIGKILL the host after a random pause, start a new one."""

        def loop() -> None:
            while self._polling() and not self._stop.wait(self._rng.uniform(*every_s)):
                how = self._rng.choice((signal.SIGKILL, signal.SIGTERM))
                self._process.send_signal(how)
                self._process.wait()
                self.signals.append(how)
                self.kills += 1
                self._process = self._start()

        self._thread = threading.Thread(target=loop, name="killer", daemon=True)
        self._thread.start()

    def _polling(self, timeout_s: float = 60.0) -> bool:
        """Wait until the current process polls: each one dies at a random moment of its
        working life, never while it is still importing (slow on a loaded machine)."""
        log = self.logs / f"host-{self.kills}.log"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self._stop.is_set():
            if log.exists() and '"work started"' in log.read_text():
                return True
            time.sleep(0.05)
        return not self._stop.is_set()

    def calm(self, *, after_kills: int = 0, within_s: float = 60.0) -> None:
        """Stop killing, once ``after_kills`` kills have happened (on a loaded machine a
        host takes seconds to start, so the traffic may end first; bounded by ``within_s``);
        the host that runs now keeps running."""
        deadline = time.monotonic() + within_s
        while self.kills < after_kills and time.monotonic() < deadline:
            time.sleep(0.1)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def fix_poison(self) -> None:
        """The cause of the poison is fixed: the host stops refusing those events."""
        (self.logs / "poison-fixed").touch()

    def close(self) -> None:
        """Stop killing and end the host."""
        self.calm()
        self._process.kill()
        self._process.wait()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]))
