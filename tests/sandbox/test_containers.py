"""A container worker in the sandbox: receipts runs as a real ``sluice work`` child process.

GIVEN the reference app, whose receipts worker declares ``runtime="container"``, THEN the
sandbox runs it as a child process (no Lambda-style poller), its records reach the merged
log and the tally like any worker's, ``sluice graph`` and ``sluice dlq ls`` say where it
runs, and stopping the sandbox drains it with SIGTERM.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app import APP
from sluice.local.containers import ContainerProcess
from sluice.local.logs import LogSink
from sluice.local.sqs_poller import SqsPoller
from sluice.ops.inspect import list_dlqs
from sluice.runtime import Runtime
from sluice.target import Target
from sluice.tools.graph import flow, mermaid
from tests.sandbox.conftest import Running

pytestmark = pytest.mark.sandbox


def test_receipts_runs_as_a_child_process_not_a_poller(sandbox: Running) -> None:
    (child,) = [p for p in sandbox.box.pollers if isinstance(p, ContainerProcess)]
    assert child.spec.name == "receipts"
    assert child.pid is not None and child.pid != os.getpid()
    os.kill(child.pid, 0)  # alive
    assert all(
        p.worker.spec.name != "receipts" for p in sandbox.box.pollers if isinstance(p, SqsPoller)
    )


def test_an_order_is_receipted_by_the_child_and_counted_in_the_tally(sandbox: Running) -> None:
    order = sandbox.place()
    sandbox.wait(lambda: sandbox.done(order))
    mine = sandbox.lines(worker="receipts", correlation_id=order.correlation_id)
    assert any(r.get("message") == "record finished" and r.get("outcome") == "done" for r in mine)


def test_graph_and_dlq_ls_say_it_runs_in_a_container(sandbox: Running) -> None:
    assert APP.registry.get("receipts").spec.runtime is Runtime.CONTAINER
    assert "receipts (container)" in mermaid(flow(sandbox.box.topology))
    assert sandbox.box.clients is not None
    target = Target(sandbox.box.clients, sandbox.box.topology, local=True)
    rows = {r["name"]: r for r in list_dlqs(target)}
    assert rows["sluice-receipts-dlq"]["runtime"] == "container"
    assert rows["sluice-audit-dlq"]["runtime"] == "lambda"


def test_stopping_a_container_worker_drains_it_with_sigterm(
    sandbox: Running, tmp_path: Path
) -> None:
    # GIVEN a second receipts child on the running sandbox (what Sandbox.stop stops; a
    # second Sandbox in this process would re-point the workers' loggers, so none here)
    log = tmp_path / "child.log"
    sink = LogSink(log)
    box = sandbox.box
    child = ContainerProcess(
        APP.registry.get("receipts").spec,
        root=APP.root,
        endpoint_url=box.endpoint_url,
        region=box.region,
        prefix=box.topology.prefix,
        sink=sink,
    )
    child.start()
    process = child.process
    assert process is not None

    child.halt()
    child.stop()
    sink.close()

    assert process.returncode == 0, "SIGTERM: drained and exited 0 (a kill would be -9)"
    assert '"work stopped"' in log.read_text()
