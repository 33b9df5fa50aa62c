"""The sandbox commands as users run them: `sluice up`, `invoke`, `graph`, in subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest

from demo.traffic import Order, place
from sluice.demo import JsonClient
from sluice.target import SandboxState
from tests.conftest import needs_tool
from tests.projects import sluice_new
from tests.sandbox.conftest import Running

pytestmark = pytest.mark.sandbox
SLUICE = [sys.executable, "-m", "sluice.cli"]


def _env(state_dir: Path) -> dict[str, str]:
    return {**os.environ, "SLUICE_STATE_DIR": str(state_dir), "COLUMNS": "120"}


def _sluice(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one `sluice` command to completion, its state files in ``state_dir``."""
    return subprocess.run(
        [*SLUICE, *args],
        env=_env(state_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_up_serves_until_ctrl_c_then_stops_cleanly(tmp_path: Path) -> None:
    # GIVEN `sluice up` in its own process
    proc = subprocess.Popen(
        [*SLUICE, "up", "--quiet"],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    state_file = tmp_path / "sandbox.json"
    try:
        deadline = time.monotonic() + 30
        while not state_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert state_file.exists(), proc.stderr.read() if proc.stderr else ""
        state = SandboxState.load(state_file)
        # WHEN a client uses the API it advertises, then the user presses Ctrl-C
        placed = place(
            JsonClient(state.api_url),
            Order("cid-up-1", [{"sku": "S", "quantity": 1, "unit_price_cents": 1}]),
        )
        assert placed.order_id.startswith("ord-")
        moto_children = _children(proc.pid)
        assert moto_children, "no moto server child process"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # THEN it exits 0 without a traceback, removes its state file and leaves no process behind
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not state_file.exists()
    assert not any(Path(f"/proc/{pid}").exists() for pid in moto_children)
    log = [json.loads(line) for line in (tmp_path / "sandbox.log").read_text().splitlines()]
    assert any(
        r.get("correlation_id") == "cid-up-1" and r.get("message") == "api request" for r in log
    )


def _up_until_ready(state_dir: Path, *args: str, cwd: Path | None = None) -> tuple[str, str]:
    """Run `sluice up ARGS` until its state file appears, then Ctrl-C it; its stdout, stderr."""
    proc = subprocess.Popen(
        [*SLUICE, "up", *args],
        env=_env(state_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    try:
        deadline = time.monotonic() + 60
        while not (state_dir / "sandbox.json").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    return out, err


def test_up_quiet_prints_nothing_on_screen(tmp_path: Path) -> None:
    # WHEN `sluice up --quiet` starts, serves and is stopped with Ctrl-C
    out, err = _up_until_ready(tmp_path, "--quiet")
    # THEN it printed nothing at all (no banner, no hint, no stopping/stopped); the log has it
    assert (out, err) == ("", "")
    assert "sandbox started" in (tmp_path / "sandbox.log").read_text()


def test_up_banner_of_an_app_without_an_api_names_no_api(tmp_path: Path) -> None:
    # GIVEN a new project, whose app declares no API
    project = sluice_new(tmp_path / "notes")
    # WHEN `sluice up` starts in it and is stopped
    _, err = _up_until_ready(tmp_path / "state", cwd=project)
    # THEN its banner names what is served, and no API
    banner = err[err.index("sandbox up") :]
    assert "AWS endpoint http://127.0.0.1:" in banner
    assert "API" not in banner, banner


def test_invoke_runs_a_sample_event_against_in_process_moto(tmp_path: Path) -> None:
    # WHEN the inventory worker is invoked with the bundled SQS sample
    done = _sluice(tmp_path, "invoke", "inventory", "--event", "sqs_raw")
    # THEN it prints the handler's partial batch response: nothing failed
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"batchItemFailures": []}


def test_invoke_local_attaches_to_the_running_sandbox(sandbox: Running, tmp_path: Path) -> None:
    sandbox.box.state(None).save(tmp_path / "sandbox.json")
    event = tmp_path / "event.json"
    sample = json.loads(resources.files("events").joinpath("samples/sqs_fifo.json").read_text())
    event.write_text(json.dumps(sample))
    # WHEN the ledger is invoked against the sandbox with a FIFO sample
    done = _sluice(tmp_path, "invoke", "ledger", "--event", str(event), "--local")
    # THEN the effect lands in the sandbox's table
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"batchItemFailures": []}
    assert sandbox.box.clients is not None
    item = sandbox.box.clients.dynamodb.get_item(
        TableName="sluice-state", Key={"pk": {"S": "ACCOUNT#acct-7"}, "sk": {"S": "ENTRY#pay-0001"}}
    )
    assert item["Item"]["amount_cents"] == {"N": "4499"}


def test_invoke_refuses_an_unknown_worker_with_the_known_ones(tmp_path: Path) -> None:
    done = _sluice(tmp_path, "invoke", "nope", "--event", "sqs_raw")
    assert done.returncode == 2
    assert "no worker named 'nope'" in done.stderr and "inventory" in done.stderr


def test_graph_prints_the_flow_as_mermaid(tmp_path: Path) -> None:
    done = _sluice(tmp_path, "graph")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("flowchart LR")
    assert 'topic_sluice_events -->|"order.placed"| queue_sluice_receipts' in text
    assert "table_sluice_orders -->|" in text and 'worker_relay -->|"publish"|' in text
    assert 'queue_sluice_ledger_fifo -.->|"after 5 receives"| dlq_sluice_ledger_dlq_fifo' in text
    # the scheduled producer, what it sends where, and where an undeliverable fire goes
    assert 'schedule_nightly_stocktake>"nightly-stocktake: cron(0 2 * * ? *) Europe/Paris"]' in text
    assert 'schedule_nightly_stocktake -->|"stock.audit_requested"| topic_sluice_events' in text
    assert "schedule_nightly_stocktake -.->" in text
    assert "dlq_sluice_nightly_stocktake_schedule_dlq" in text


@needs_tool(
    shutil.which("dot") is None,
    "Graphviz `dot` renders png/svg (`make install` installs the Debian package)",
)
@pytest.mark.parametrize(("fmt", "magic"), [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_graph_renders_pictures(tmp_path: Path, fmt: str, magic: bytes) -> None:
    target = tmp_path / f"flow.{fmt}"
    done = _sluice(tmp_path, "graph", "--format", fmt, "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_bytes().startswith(magic)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found
