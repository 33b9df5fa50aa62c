"""Container workers in the sandbox: real ``sluice work`` child processes, one per worker.

What an ECS task runs, run here as a child of ``sluice up`` against the moto server: the
same consumer (long polling, heartbeat, drain), in a process of its own. Its JSON log lines
are fed into the sandbox's merged log, so the tally, ``sluice trace`` and the demo see its
records as they see a poller's. ``halt()`` sends SIGTERM (the drain); ``stop()`` waits for
the exit, and kills the child only if it outlives its drain by far.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sluice.local.logs import LogSink
from sluice.runtime import ConfigurationError, WorkerSpec

PARENT_ENV = "SLUICE_PARENT_PID"
"""Set for a ``sluice work`` child: it drains and exits once that parent is gone, instead of
polling a dead endpoint for ever (``sluice.container.launch.stop_with_parent``)."""
QUEUE_WAIT_ENV = "SLUICE_QUEUE_WAIT_S"
"""Set for a ``sluice work`` child: how long it waits for its queue to be created (it starts
while the sandbox provisions)."""
QUEUE_WAIT_S = 30

WAIT_S = 1
"""The child's long-poll wait: short, so stopping is quick."""
DRAIN_S = 10.0
STOP_GRACE_S = 20.0
READY_TIMEOUT_S = 60.0
"""How long ``start`` waits for the child's "work started" line."""


class ContainerProcess:
    """``sluice work NAME --endpoint-url ...`` as a child process, its output in ``sink``."""

    def __init__(
        self,
        spec: WorkerSpec,
        *,
        root: Path,
        endpoint_url: str,
        region: str,
        prefix: str,
        sink: LogSink,
        concurrency: int | None = None,
    ) -> None:
        self.spec = spec
        self.sink = sink
        self.command = [
            sys.executable,
            "-m",
            "sluice.cli",
            "work",
            spec.name,
            "--endpoint-url",
            endpoint_url,
            "--region",
            region,
            "--prefix",
            prefix,
            "--wait-s",
            str(WAIT_S),
            "--drain-s",
            str(DRAIN_S),
            "--concurrency",
            str(concurrency or spec.max_concurrency * spec.max_invocations),
        ]
        self.root = root
        self.process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()
        self._halted = False
        self._last: list[str] = []

    @property
    def pid(self) -> int | None:
        """The child's process id, while it runs."""
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start the child and wait until it polls; its lines go to the sink as they come."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the child without waiting (``wait_ready`` waits): the sandbox starts the
        rest of itself while the child imports."""
        self.process = subprocess.Popen(
            self.command,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # the child drains and exits if this process dies without stopping it, and may
            # start before its queue exists
            env={
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                PARENT_ENV: str(os.getpid()),
                QUEUE_WAIT_ENV: str(QUEUE_WAIT_S),
            },
            start_new_session=True,  # Ctrl-C reaches the sandbox, which then drains the child
        )
        self._reader = threading.Thread(
            target=self._pipe, name=f"container-{self.spec.name}", daemon=True
        )
        self._reader.start()

    def wait_ready(self) -> None:
        """Wait until the launched child polls its queue."""
        assert self.process is not None, "launch() first"
        if not self._ready.wait(READY_TIMEOUT_S):
            self.stop()
            raise ConfigurationError(
                f"`sluice work {self.spec.name}` did not start polling within "
                f"{READY_TIMEOUT_S:.0f} s; its last output: {' | '.join(self._last) or '-'}"
            )
        self.sink.event(
            "container started",
            worker=self.spec.name,
            correlation_id="-",
            pid=self.process.pid,
            command=" ".join(self.command[2:5]),
        )

    def halt(self) -> None:
        """SIGTERM: the child stops receiving and drains (``stop`` waits for it)."""
        if self.process is not None and self.process.poll() is None and not self._halted:
            self._halted = True  # once: a second SIGTERM could land after Python's own
            self.process.send_signal(signal.SIGTERM)  # handlers are gone, at its exit

    def stop(self) -> None:
        """Drain and wait for the exit; SIGKILL only if the drain overruns by far."""
        if self.process is None:
            return
        self.halt()
        try:
            code = self.process.wait(timeout=DRAIN_S + STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        self.sink.event(
            "container stopped",
            worker=self.spec.name,
            correlation_id="-",
            level="INFO" if code == 0 else "WARNING",
            exit_code=code,
        )
        self.process = None

    def _pipe(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            if '"work started"' in line:
                self._ready.set()
            self._last = [*self._last[-4:], line.strip()]
            self.sink.write(line)
