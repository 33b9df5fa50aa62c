"""An operator's first shift (issue 24): `sluice` as a user runs it, in subprocesses.

A state file left by a killed `sluice up`, a graph written nowhere, a trace of the sandbox, a
log read while the sandbox runs, and a worker the operator hosts themselves.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.traffic import Order, place
from sluice.demo import JsonClient
from sluice.target import SandboxState, Target, connect
from tests.sandbox.conftest import Running
from tests.sandbox.test_cli import SLUICE, _children, _env, _sluice
from tests.sandboxes import stale_state

pytestmark = pytest.mark.sandbox
PROMPTLY_S = 15.0
"""How long a log line may take to reach the file: generous for a loaded machine, and far
below what a block buffer held lines back for (minutes on an idle sandbox, for ever here)."""


LOCAL_COMMANDS = [
    ("dlq", "ls", "--local"),
    ("dlq", "show", "inventory", "--local"),
    ("dlq", "replay", "inventory", "--local"),
    ("dlq", "purge", "inventory", "--yes", "--local"),
    ("work", "receipts", "--local"),
    ("top", "--local", "--once"),
    ("schedule", "ls", "--local"),
    ("schedule", "fire", "nightly-stocktake", "--local"),
    ("invoke", "inventory", "--event", "sqs_raw", "--local"),
    ("publish", "--local", "--type", "stock.audit_requested", "--data", "{}"),
]


def test_every_local_command_says_a_killed_sandbox_is_not_running(tmp_path: Path) -> None:
    # GIVEN the state file of a `sluice up` that was killed with -9
    state = stale_state(tmp_path)
    wanted = (
        f"error: the sandbox at {state.endpoint_url} is not running (pid {state.pid}): "
        "start it with `sluice up`"
    )
    for command in LOCAL_COMMANDS:
        # WHEN an operator attaches to it
        done = _sluice(tmp_path, *command)
        # THEN each command says so in one line, the same line, and exits 2
        said = (done.stdout + done.stderr).strip()
        assert (done.returncode, said) == (2, wanted), " ".join(command)


def test_graph_to_a_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    done = _sluice(tmp_path, "graph", "-o", str(tmp_path / "no" / "such" / "g.mmd"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == (
        f"error: cannot write {tmp_path}/no/such/g.mmd: No such file or directory"
    )


def test_trace_local_follows_a_request_through_the_sandbox(
    sandbox: Running, tmp_path: Path
) -> None:
    # GIVEN an order that went through the running sandbox, and its state file
    sandbox.box.state(sandbox.log_path).save(tmp_path / "sandbox.json")
    order = sandbox.place()
    sandbox.wait(lambda: sandbox.done(order))
    # WHEN the operator traces it with --local
    done = _sluice(tmp_path, "trace", order.correlation_id, "--local")
    # THEN the hops come from the sandbox's log: the API, the table, the relay, the workers
    assert done.returncode == 0, done.stderr
    for hop in ("API", "table write", "stream", "relay", "queue", "inventory", "receipts"):
        assert f" {hop} " in done.stdout, hop


@dataclass
class Up:
    """A running `sluice up`, and what it printed once it stopped."""

    proc: subprocess.Popen[str]
    stderr: str = ""


@contextmanager
def running_up(state_dir: Path, *args: str, quiet: bool = True) -> Iterator[Up]:
    """`sluice up [--quiet] ARGS` until its state file exists; Ctrl-C when the block ends."""
    proc = subprocess.Popen(
        [*SLUICE, "up", *(["--quiet"] if quiet else []), *args],
        env=_env(state_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    up = Up(proc)
    try:
        assert within(60, lambda: (state_dir / "sandbox.json").exists() or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()
        yield up
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            _, up.stderr = proc.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def within(seconds: float, check: Callable[[], bool]) -> bool:
    """Poll ``check`` until it holds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def logged(path: Path, message: str, service: str = "sandbox") -> bool:
    """Whether the sandbox log holds a line with this message (from this service) yet."""
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            record = json.loads(line)
        except ValueError:  # the line being written
            continue
        if (record.get("message"), record.get("service")) == (message, service):
            return True
    return False


def test_up_writes_each_log_line_as_it_happens(tmp_path: Path) -> None:
    log = tmp_path / "sandbox.log"
    # GIVEN `sluice up`, running, with a container worker child
    with running_up(tmp_path):
        # THEN its own lines and the child's reach the file while it runs
        assert within(PROMPTLY_S, lambda: logged(log, "sandbox started"))
        assert within(PROMPTLY_S, lambda: logged(log, "container started"))
        assert within(PROMPTLY_S, lambda: logged(log, "work started", "receipts"))
        # AND so do a request's hop and a worker function's own line
        state = SandboxState.load(tmp_path / "sandbox.json")
        place(JsonClient(state.api_url), Order("cid-flush", [_LINE]))
        assert within(PROMPTLY_S, lambda: logged(log, "api request"))
        assert within(PROMPTLY_S, lambda: logged(log, "record finished", "inventory"))


_LINE = {"sku": "SKU-F", "quantity": 1, "unit_price_cents": 1}


def test_up_hosted_elsewhere_leaves_the_worker_to_sluice_work(tmp_path: Path) -> None:
    # GIVEN `sluice up --hosted-elsewhere receipts`: no child, no poller for receipts
    with running_up(tmp_path, "--hosted-elsewhere", "receipts", quiet=False) as up:
        state = SandboxState.load(tmp_path / "sandbox.json")
        assert len(_children(up.proc.pid)) == 1, "only moto: no `sluice work receipts` child"
        target = connect(local=True, state_file=tmp_path / "sandbox.json")
        order = place(JsonClient(state.api_url), Order("cid-elsewhere", [_LINE]))
        # WHEN the order is placed, its receipt waits on the queue for the operator's consumer
        assert within(PROMPTLY_S, lambda: _depth(target, "sluice-receipts") == 1)
        work = subprocess.Popen(
            [*SLUICE, "work", "receipts", "--local", "--wait-s", "1"],
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            # THEN `sluice work receipts --local` consumes it
            assert within(60, lambda: _depth(target, "sluice-receipts") == 0)
        finally:
            work.send_signal(signal.SIGTERM)
            out, _ = work.communicate(timeout=40)
    assert work.returncode == 0, out
    assert order.correlation_id in out
    assert "receipts is hosted elsewhere: run sluice work receipts --local" in up.stderr


def _depth(target: Target, queue: str) -> int:
    attrs = target.clients.sqs.get_queue_attributes(
        QueueUrl=target.queue_url(queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())
