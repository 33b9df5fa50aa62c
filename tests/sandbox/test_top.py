"""``sluice top --local`` as users run it: in a real terminal (tmux), on a sandbox under load."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from events import ORDER_PLACED
from sluice.core import Envelope
from tests.conftest import needs_tool
from tests.sandbox.conftest import Running, attached, until

pytestmark = pytest.mark.sandbox
SLUICE = [sys.executable, "-m", "sluice.cli"]
# The terminal's own size, not a COLUMNS or LINES the test run may carry (Textual prefers them).
TERMINAL_SIZED = ["env", "-u", "COLUMNS", "-u", "LINES"]
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


@needs_tool(shutil.which("tmux") is None, "tmux runs `sluice top` in a real terminal")
def test_top_shows_every_worker_and_the_poisoned_dlq_in_red(
    sandbox: Running, tmp_path: Path, tmux: Callable[..., str]
) -> None:
    # GIVEN a sandbox that processed a load with a poison event in it
    env = attached(sandbox, tmp_path)
    poison = _load_with_poison(sandbox)
    # WHEN `sluice top --local` runs in a 160x40 terminal
    command = " ".join([*TERMINAL_SIZED, *SLUICE, "top", "--local", "--interval", "1s"])
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
    screen = until(inventory_row, 60, "the rows with a DLQ depth")
    header = next(line for line in screen.splitlines() if "worker" in line)
    assert header.split()[:5] == ["worker", "source", "queue", "oldest", "DLQ"]
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
    until(
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
    preview = until(
        lambda: s if "would move" in (s := tmux("capture-pane", "-p", "-t", "top")) else None,
        60,
        "the replay preview",
    )
    assert "sluice-inventory-dlq -> sluice-inventory: would move" in preview
    assert poison.id in preview.replace("\n", "")
    # AND q quits
    tmux("send-keys", "-t", "top", "q")
    until(lambda: "gone" if "top" not in _sessions(tmux) else None, 20, "sluice top to quit")
    assert any(
        json.loads(m["Body"])["id"] == poison.id for m in sandbox.messages("sluice-inventory-dlq")
    )


def _start_top(sandbox: Running, tmp_path: Path, tmux: Callable[..., str], width: int) -> None:
    """`sluice top --local` in a `width`x24 terminal of its own, attached to the sandbox."""
    env = attached(sandbox, tmp_path)
    command = " ".join([*TERMINAL_SIZED, *SLUICE, "top", "--local", "--interval", "1s"])
    tmux("new-session", "-d", "-s", "top", "-x", str(width), "-y", "24", "-e", "COLORTERM=",
         "-e", f"SLUICE_STATE_DIR={env['SLUICE_STATE_DIR']}", command)  # fmt: skip


def _styles_after_worker(line: str, worker: str) -> str:
    """The escape codes that start a row's cells after its worker name: a row under the
    cursor is styled differently from the others."""
    found = re.search(f" {worker} *" + r"((?:\x1b\[[0-9;]*m)*)", line)
    return found.group(1) if found else ""


def _table(screen: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header's labels and each worker's cells, from a captured screen."""
    lines = [line.split() for line in screen.splitlines()]
    header = next(words for words in lines if words[:1] == ["worker"])
    return header, {words[0]: words for words in lines if words and words[0] in WORKERS}


@needs_tool(shutil.which("tmux") is None, "tmux runs `sluice top` in a real terminal")
def test_top_at_80x24_shows_every_figure_and_the_selected_row_keeps_its_red_dlq(
    sandbox: Running, tmp_path: Path, tmux: Callable[..., str]
) -> None:
    # GIVEN a sandbox with a poison event dead-lettered by the inventory worker
    _load_with_poison(sandbox)
    # WHEN `sluice top --local` runs in an 80x24 terminal
    _start_top(sandbox, tmp_path, tmux, 80)

    def counted() -> str | None:
        screen = tmux("capture-pane", "-p", "-t", "top")
        if not any(line.split()[:1] == ["worker"] for line in screen.splitlines()):
            return None
        header, rows = _table(screen)
        dlq = header.index("DLQ") if "DLQ" in header else -1
        ready = set(rows) == set(WORKERS) and rows["inventory"][dlq] != "0"
        return screen if ready else None

    # THEN the worker, the DLQ depth and every rate, latency and concurrency column fit
    screen = until(counted, 60, "the rows with a DLQ depth")
    header, rows = _table(screen)
    for label in ("worker", "queue", "DLQ", "done", "failed", "DLQ'd", "p50", "p95", "conc"):
        assert label in header, screen
    assert all(len(cells) == len(header) for cells in rows.values()), screen
    # WHEN the inventory row is selected (the second row)
    tmux("send-keys", "-t", "top", "Down")
    dlq = rows["inventory"][header.index("DLQ")]

    # THEN, once the cursor is on it, its DLQ cell is still red
    def red_while_selected() -> str | None:
        coloured = tmux("capture-pane", "-e", "-p", "-t", "top").splitlines()
        inventory, ledger = (next(x for x in coloured if f" {w} " in x) for w in WORKERS[1:3])
        if _styles_after_worker(inventory, "inventory") == _styles_after_worker(ledger, "ledger"):
            return None  # the cursor is not on the inventory row yet
        cell = re.search(r"((?:\x1b\[[0-9;]*m)+)" + dlq + r"(?:\x1b| )", inventory)
        assert cell and RED.search(cell.group(1)), repr(inventory)
        return inventory

    until(red_while_selected, 20, "the selected row's DLQ cell in red")


@needs_tool(shutil.which("tmux") is None, "tmux runs `sluice top` in a real terminal")
def test_top_scrolled_right_keeps_the_worker_column(
    sandbox: Running, tmp_path: Path, tmux: Callable[..., str]
) -> None:
    # GIVEN `sluice top --local` in a terminal too narrow for every column
    _start_top(sandbox, tmp_path, tmux, 40)
    until(
        lambda: s if "stocktake" in (s := tmux("capture-pane", "-p", "-t", "top")) else None,
        60,
        "the rows",
    )
    # WHEN it is scrolled right to the last column
    for _ in range(12):
        tmux("send-keys", "-t", "top", "Right")

    # THEN the last column shows, and every worker's name is still there, first on its line
    def scrolled() -> str | None:
        screen = tmux("capture-pane", "-p", "-t", "top")
        return screen if "p95" in screen else None

    screen = until(scrolled, 20, "the last column")
    firsts = {line.split()[0] for line in screen.splitlines() if line.split()}
    assert set(WORKERS) <= firsts, screen


def test_top_json_without_once_prints_one_snapshot_and_exits(
    sandbox: Running, tmp_path: Path
) -> None:
    # WHEN `sluice top --local --json` runs without --once, its output piped
    done = _piped(sandbox, tmp_path, "--json")
    # THEN it exits 0 after one JSON document, no terminal escape codes in it
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("}\n") and "\x1b" not in done.stdout
    assert sorted(r["worker"] for r in json.loads(done.stdout)["workers"]) == sorted(WORKERS)


def test_top_into_a_pipe_prints_one_table_and_exits(sandbox: Running, tmp_path: Path) -> None:
    # WHEN `sluice top --local` writes to a pipe, not a terminal
    done = _piped(sandbox, tmp_path)
    # THEN it prints one table with every worker and column, and exits
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    header, rows = _table(done.stdout.replace("│", " ").replace("┃", " "))
    assert set(rows) == set(WORKERS) and "conc" in header and "source" in header


def test_top_json_stream_prints_a_line_per_refresh_until_the_reader_leaves(
    sandbox: Running, tmp_path: Path
) -> None:
    # GIVEN `sluice top --local --json --stream` refreshing every 200 ms into a pipe
    proc = subprocess.Popen(
        [*SLUICE, "top", "--local", "--json", "--stream", "--interval", "200ms"],
        env=attached(sandbox, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        # WHEN the reader takes three lines and closes the pipe
        lines = [proc.stdout.readline() for _ in range(3)]
        proc.stdout.close()
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # THEN each line was one whole snapshot, and it stopped at once, cleanly
    docs = [json.loads(line) for line in lines]
    assert all(len(d["workers"]) == len(WORKERS) for d in docs)
    assert docs[0]["at"] < docs[1]["at"] < docs[2]["at"]
    assert proc.returncode == 0 and "Traceback" not in err, err


def _sessions(tmux: Callable[..., str]) -> str:
    try:
        return tmux("list-sessions", "-F", "#{session_name}")
    except subprocess.CalledProcessError:
        return ""


def test_once_json_matches_the_queue_depths_read_directly(sandbox: Running, tmp_path: Path) -> None:
    # GIVEN a sandbox with a poison event dead-lettered
    env = attached(sandbox, tmp_path)
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


def _piped(sandbox: Running, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``sluice top --local ARGS`` with its output piped, as a script runs it."""
    return subprocess.run(
        [*SLUICE, "top", "--local", *args],
        env=attached(sandbox, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
