"""A moto server with the work app provisioned, and ``sluice work`` runners as processes.

Queues get a 2 s visibility timeout, so a crashed runner's messages come back fast and a
6 s job is three times the timeout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sluice.core import Envelope
from sluice.local.provision import provision
from sluice.local.server import MotoServer
from sluice.publisher import Publisher
from sluice.runtime import Clients
from sluice.target import SANDBOX_REGION, sandbox_session
from sluice.topology import Topology
from tests.container.workapp.app import APP
from tests.container.workapp.events import JOB_REQUESTED

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_S = 2


@dataclass
class Queue:
    """One worker's queue on the server."""

    url: str
    clients: Clients
    fifo: bool

    def send(self, jobs: list[dict[str, Any]]) -> None:
        """Publish one job.requested per dict, in order."""
        group = {JOB_REQUESTED: "group"} if self.fifo else None
        with Publisher.to_queue(self.clients.sqs, self.url, group_by=group) as out:
            for data in jobs:
                out.add(Envelope.new(JOB_REQUESTED, data, source="tests"))

    def counts(self) -> tuple[int, int]:
        """(visible, in flight) messages."""
        attrs = self.clients.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attrs["ApproximateNumberOfMessages"]),
            int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        )


@dataclass
class Runner:
    """One ``sluice work`` child process."""

    process: subprocess.Popen[str]
    log: Path

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig``."""
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Its exit code."""
        return self.process.wait(timeout=timeout)

    def lines(self) -> list[dict[str, Any]]:
        """Its JSON log lines."""
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


@dataclass
class Work:
    """The server, the provisioned app, and the runners started on it."""

    server: MotoServer
    clients: Clients
    topology: Topology
    project: Path
    runners: list[Runner] = field(default_factory=list)

    def queue(self, worker: str) -> Queue:
        """``worker``'s queue."""
        spec = self.topology.registry.get(worker).spec
        name = self.topology.queues(spec).queue
        url = self.clients.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return Queue(url, self.clients, spec.source.is_fifo)

    def start(self, worker: str, *args: str, env: dict[str, str] | None = None) -> Runner:
        """``sluice work WORKER --endpoint-url ...`` in a process of its own."""
        log = self.project / f"{worker}-{len(self.runners)}.log"
        command = [
            sys.executable,
            "-m",
            "sluice.cli",
            "work",
            worker,
            "--endpoint-url",
            self.server.endpoint_url,
            "--region",
            SANDBOX_REGION,
            "--wait-s",
            "1",
            *args,
        ]
        process = subprocess.Popen(
            command,
            cwd=self.project,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
        runner = Runner(process, log)
        self.runners.append(runner)
        self.wait_for(lambda: any(r.get("message") == "work started" for r in runner.lines()), 30)
        return runner

    def effect(self, key: str) -> dict[str, Any]:
        """One item of the effects table, as plain values."""
        item = self.clients.dynamodb.get_item(
            TableName=self.topology.table("effects"), Key={"pk": {"S": key}}, ConsistentRead=True
        ).get("Item", {})
        out: dict[str, Any] = {}
        if "n" in item:
            out["n"] = int(item["n"]["N"])
        if "seq" in item:
            out["seq"] = [v["S"] for v in item["seq"]["L"]]
        return out

    def applied(self, jobs: list[str]) -> dict[str, int]:
        """How many times each job's effect was applied."""
        return {job: self.effect(f"job#{job}").get("n", 0) for job in jobs}

    @staticmethod
    def wait_for(check: Callable[[], bool], timeout: float) -> None:
        """Poll ``check`` until true, or fail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.1)
        raise AssertionError(f"not true within {timeout} s")


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Work]:
    """A fresh moto server with the work app provisioned; runners are killed after."""
    server = MotoServer(region=SANDBOX_REGION).start()
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.sluice]\napp = "tests.container.workapp.app:APP"\n'
    )
    clients = Clients(sandbox_session(SANDBOX_REGION), endpoint_url=server.endpoint_url)
    topology = Topology(APP)
    provision(clients, topology)
    for spec in topology.registry.specs:
        url = clients.sqs.get_queue_url(QueueName=topology.queues(spec).queue)["QueueUrl"]
        clients.sqs.set_queue_attributes(
            QueueUrl=url, Attributes={"VisibilityTimeout": str(VISIBILITY_S)}
        )
    made = Work(server, clients, topology, project)
    try:
        yield made
    finally:
        for runner in made.runners:
            if runner.process.poll() is None:
                runner.process.kill()
                runner.process.wait()
        server.stop()
