"""``sluice top --local`` as users run it: in a real terminal (tmux), on a sandbox under load."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from events import ORDER_PLACED
from sluice.core import Envelope
from tests.conftest import needs_tool
from tests.sandbox.conftest import Running

pytestmark = pytest.mark.sandbox
SLUICE = [sys.executable, "-m", "sluice.cli"]
WORKERS = ("audit", "inventory", "ledger", "receipts", "relay", "stocktake")
# An SGR sequence that sets a red foreground: basic, bright, 256-colour or true colour.
RED = re.compile(
    r"\x1b\[(?:[0-9;]*;)?(?:31|91|38;5;(?:1|9|124|160|196|197)|38;2;2[0-9]{2};[0-9]{1,2};[0-9]{1,2})m"
)


def _poison() -> Envelope[Any]:
    data = {
        "order_id": f"ord-{uuid.uuid4().hex[:8]}",
        "customer_id": "cust-top",
        "items": [{"sku": "SKU-TOP", "quantity": -1, "unit_price_cents": 100}],
    }
    return Envelope.new(ORDER_PLACED, data, source="tests")


def _attached(sandbox: Running, state_dir: Path) -> dict[str, str]:
    """An environment whose `sluice ... --local` attaches to the tier's sandbox."""
    sandbox.box.state(sandbox.log_path).save(state_dir / "sandbox.json")
    return {**os.environ, "SLUICE_STATE_DIR": str(state_dir), "COLUMNS": "160"}


def _depths(sandbox: Running, name: str) -> tuple[int, int]:
    assert sandbox.box.clients is not None
    attrs = sandbox.box.clients.sqs.get_queue_attributes(
        QueueUrl=sandbox.box.queue_url(name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def _load_with_poison(sandbox: Running) -> Envelope[Any]:
    """A few good orders through the API and one poison event; wait for the poison's DLQ."""
    poison = _poison()
    for _ in range(3):
        sandbox.place()
    assert sandbox.publisher().publish([poison]).ok
    sandbox.wait(
        lambda: any(
            json.loads(m["Body"])["id"] == poison.id
            for m in sandbox.messages("sluice-inventory-dlq")
        ),
        timeout_s=60,
    )
    return poison


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """A private tmux server; ``tmux(args...)`` runs a tmux command and returns its output."""
    socket = tmp_path / "tmux.sock"

    def run(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(socket), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    yield run
    subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, check=False)


def _until(check: Callable[[], str | None], timeout_s: float, what: str) -> str:
    deadline = time.monotonic() + timeout_s
    last: str | None = None
    while time.monotonic() < deadline:
        last = check()
        if last is not None:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@needs_tool(shutil.which("tmux") is None, "tmux runs `sluice top` in a real terminal")
def test_top_shows_every_worker_and_the_poisoned_dlq_in_red(
    sandbox: Running, tmp_path: Path, tmux: Callable[..., str]
) -> None:
    # GIVEN a sandbox that processed a load with a poison event in it
    env = _attached(sandbox, tmp_path)
    poison = _load_with_poison(sandbox)
    # WHEN `sluice top --local` runs in a 160x40 terminal
    command = " ".join([*SLUICE, "top", "--local", "--interval", "1s"])
    tmux("new-session", "-d", "-s", "top", "-x", "160", "-y", "40", "-e", "COLORTERM=",
         "-e", f"SLUICE_STATE_DIR={env['SLUICE_STATE_DIR']}", command)  # fmt: skip

    def inventory_row() -> str | None:
        screen = tmux("capture-pane", "-p", "-t", "top")
        rows = {line.split()[0]: line.split() for line in screen.splitlines() if line.split()}
        inventory = rows.get("inventory")
        if not all(w in rows for w in WORKERS) or not inventory or inventory[4] == "0":
            return None
        return screen

    # THEN one row per worker appears, with the DLQ column counting the poison
    screen = _until(inventory_row, 60, "the rows with a DLQ depth")
    header = next(line for line in screen.splitlines() if "worker" in line)
    assert header.split()[:6] == ["worker", "source", "queue", "vis/flight", "oldest", "DLQ"]
    rows = {line.split()[0]: line.split() for line in screen.splitlines() if line.split()}
    assert rows["inventory"][1] == "sns-queue" and rows["relay"][1] == "dynamodb-stream"
    assert rows["ledger"][1] == "fifo-queue" and rows["ledger"][4] == "0"
    assert int(rows["inventory"][4]) >= 1
    # AND that DLQ cell is red (an alarm fires on it), the ledger's empty DLQ is not
    coloured = tmux("capture-pane", "-e", "-p", "-t", "top")
    inventory = next(line for line in coloured.splitlines() if "inventory" in line)
    ledger = next(line for line in coloured.splitlines() if "ledger" in line)
    dlq_cell = re.search(r"((?:\x1b\[[0-9;]*m)+)" + rows["inventory"][4] + r"\x1b", inventory)
    assert dlq_cell and RED.search(dlq_cell.group(1)), repr(inventory)
    assert not RED.search(ledger), repr(ledger)

    # WHEN the inventory row is selected and Enter pressed
    tmux("send-keys", "-t", "top", "Down")
    tmux("send-keys", "-t", "top", "Enter")
    # THEN its newest dead letters show, with their reason (what `sluice dlq show` prints)
    _until(
        lambda: (
            s
            if "reason=invalid_payload" in (s := tmux("capture-pane", "-p", "-t", "top"))
            else None
        ),
        60,
        "the DLQ reasons",
    )
    # WHEN r is pressed THEN a dry-run replay preview names the poison, and nothing moves
    tmux("send-keys", "-t", "top", "r")
    preview = _until(
        lambda: s if "would move" in (s := tmux("capture-pane", "-p", "-t", "top")) else None,
        60,
        "the replay preview",
    )
    assert "sluice-inventory-dlq -> sluice-inventory: would move" in preview
    assert poison.id in preview.replace("\n", "")
    # AND q quits
    tmux("send-keys", "-t", "top", "q")
    _until(lambda: "gone" if "top" not in _sessions(tmux) else None, 20, "sluice top to quit")
    assert any(
        json.loads(m["Body"])["id"] == poison.id for m in sandbox.messages("sluice-inventory-dlq")
    )


def _sessions(tmux: Callable[..., str]) -> str:
    try:
        return tmux("list-sessions", "-F", "#{session_name}")
    except subprocess.CalledProcessError:
        return ""


def test_once_json_matches_the_queue_depths_read_directly(sandbox: Running, tmp_path: Path) -> None:
    # GIVEN a sandbox with a poison event dead-lettered
    env = _attached(sandbox, tmp_path)
    _load_with_poison(sandbox)
    queues = {w: f"sluice-{w}" for w in ("audit", "inventory", "receipts")}
    queues["ledger"] = "sluice-ledger.fifo"
    sandbox.wait(lambda: all(_depths(sandbox, q) == (0, 0) for q in queues.values()), 60)
    dlqs = {d.name: _depths(sandbox, d.name)[0] for d in sandbox.box.topology.dlqs()}
    # WHEN `sluice top --local --once --json` takes one snapshot
    done = subprocess.run(
        [*SLUICE, "top", "--local", "--once", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN each worker's DLQ column is the sum of its DLQs, as SQS reports them
    assert done.returncode == 0, done.stderr
    rows = {r["worker"]: r for r in json.loads(done.stdout)["workers"]}
    assert sorted(rows) == sorted(WORKERS)
    for worker, row in rows.items():
        mine = [d.name for d in sandbox.box.topology.dlqs() if d.worker == worker]
        assert row["dlq"] == sum(dlqs[name] for name in mine), worker
    assert rows["inventory"]["dlq"] >= 1 and "dlq" in rows["inventory"]["alarms"]
    assert rows["ledger"]["dlq"] == 0 and rows["ledger"]["alarms"] == []
    # AND each queue's depth is what SQS reports (the pipeline is idle, so it holds still)
    for worker, name in queues.items():
        assert (rows[worker]["visible"], rows[worker]["in_flight"]) == _depths(sandbox, name)
    assert rows["relay"]["visible"] is None  # a stream worker has no queue


def test_trace_finds_one_order_by_its_order_id_or_an_envelope_id(
    sandbox: Running, tmp_path: Path
) -> None:
    # GIVEN an order that went all the way through the sandbox
    order = sandbox.place()
    sandbox.wait(lambda: sandbox.done(order))
    sandbox.box.sink.flush()
    [finished] = sandbox.lines(
        correlation_id=order.correlation_id, worker="inventory", outcome="done"
    )
    env = {**os.environ, "SLUICE_STATE_DIR": str(tmp_path), "COLUMNS": "200"}

    def trace(wanted: str) -> str:
        done = subprocess.run(
            [*SLUICE, "trace", wanted, "--log-file", str(sandbox.log_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split("\n", 1)[1]  # the table without its title

    # WHEN it is traced by correlation id, by order id and by the id of an envelope it caused
    by_correlation = trace(order.correlation_id)
    # THEN all three give the same hops, the relay's publish among them
    assert trace(order.order_id) == by_correlation
    assert trace(finished["event_id"]) == by_correlation
    assert "event published" in by_correlation and "inventory" in by_correlation
