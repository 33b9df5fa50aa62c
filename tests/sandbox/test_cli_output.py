"""What the CLI prints, where users read it: a pipe, an 80x24 terminal, a script's JSON."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app import APP
from sluice.topology import Topology
from tests.conftest import needs_tool
from tests.sandbox.conftest import Running, attached, until

pytestmark = pytest.mark.sandbox
SLUICE = [sys.executable, "-m", "sluice.cli"]
NEXT_FIRE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d[+-]\d\d:\d\d")
# The DLQs of the app the CLI loads (the tier's sandbox also runs test workers of its own).
DLQS = [dlq.name for dlq in Topology(APP).dlqs()]
SLOTS = ("2026-12-01T01:00:00Z", "2026-12-02T01:00:00Z")


def _piped(env: dict[str, str], *args: str) -> str:
    """Run a command with its stdout a pipe and no COLUMNS (as `| cat` runs it)."""
    done = subprocess.run(
        [*SLUICE, *args],
        env={k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _in_terminal(tmux: Callable[..., str], env: dict[str, str], *args: str) -> str:
    """Run a command in an 80x24 terminal of its own and return the screen it leaves."""
    command = " ".join(["env", "-u", "COLUMNS", "-u", "LINES", *SLUICE, *args, "; sleep 60"])
    session = args[0]
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24",
         "-e", f"SLUICE_STATE_DIR={env['SLUICE_STATE_DIR']}", command)  # fmt: skip
    return until(
        lambda: s if "└" in (s := tmux("capture-pane", "-p", "-t", session)) else None,
        60,
        f"`sluice {' '.join(args)}` to print its table",
    )


def test_dlq_ls_into_a_pipe_names_every_dlq_whole(sandbox: Running, tmp_path: Path) -> None:
    # WHEN `sluice dlq ls --local` writes to a pipe (no terminal, no COLUMNS)
    text = _piped(attached(sandbox, tmp_path), "dlq", "ls", "--local")
    # THEN every DLQ is named whole, and so is every other column's header
    assert "…" not in text
    for name in DLQS:
        assert f" {name} " in text, name
    for header in ("kind", "source", "runs on", "depth", "in flight", "oldest", "replayable"):
        assert header in text


def test_schedule_ls_into_a_pipe_shows_every_next_fire_whole(
    sandbox: Running, tmp_path: Path
) -> None:
    text = _piped(attached(sandbox, tmp_path), "schedule", "ls", "--local")
    assert "…" not in text
    assert " nightly-stocktake " in text and "cron(0 2 * * ? *)" in text
    assert len(NEXT_FIRE.findall(text)) == 3


@needs_tool(shutil.which("tmux") is None, "tmux is the 80x24 terminal")
def test_dlq_ls_at_80_columns_names_every_dlq_whole(
    sandbox: Running, tmp_path: Path, tmux: Callable[..., str]
) -> None:
    # WHEN `sluice dlq ls --local` prints in an 80x24 terminal
    screen = _in_terminal(tmux, attached(sandbox, tmp_path), "dlq", "ls", "--local")
    # THEN every DLQ name is whole on one line, with its depth; what did not fit is named
    assert "…" not in screen
    for name in DLQS:
        assert f" {name} " in screen, screen
    assert "depth" in screen and "not shown at this width:" in screen


@needs_tool(shutil.which("tmux") is None, "tmux is the 80x24 terminal")
def test_schedule_ls_at_80_columns_shows_next_fires_and_the_last_manual_fire(
    sandbox: Running, tmp_path: Path, tmux: Callable[..., str]
) -> None:
    # GIVEN two slots of the schedule fired by hand on the sandbox
    env = attached(sandbox, tmp_path)
    for slot in SLOTS:
        _piped(env, "schedule", "fire", "nightly-stocktake", "--local", "--at", slot)
    # WHEN the schedules are listed in an 80x24 terminal
    screen = _in_terminal(tmux, env, "schedule", "ls", "--local")
    # THEN the name and each next fire time are whole, and the last fire is the second one
    assert "…" not in screen and " nightly-stocktake " in screen
    assert len(NEXT_FIRE.findall(screen)) == 3, screen
    assert "2026-12-02 01:00Z (fire)" in screen, screen
    # AND --json says the same
    [row] = json.loads(_piped(env, "schedule", "ls", "--local", "--json"))
    assert row["last_fired_by_hand"] == "2026-12-02T01:00:00+00:00"


@pytest.mark.parametrize(
    "command",
    [
        ["dlq", "ls"],
        ["dlq", "show", "inventory"],
        ["dlq", "replay", "inventory"],
        ["dlq", "export", "inventory", "dead.jsonl"],
        ["dlq", "purge", "inventory", "--yes"],
        ["schedule", "ls"],
        ["schedule", "fire", "nightly-stocktake"],
        ["top", "--once"],
        ["top"],
    ],
    ids=" ".join,
)
def test_every_json_command_refuses_with_one_json_line_when_no_sandbox_runs(
    tmp_path: Path, command: list[str]
) -> None:
    # WHEN a command is asked for JSON about a sandbox that is not running
    done = subprocess.run(
        [*SLUICE, *command, "--local", "--json"],
        env={**os.environ, "SLUICE_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # THEN stdout is one JSON document naming the error, ended by a newline, and it exits 2
    assert done.returncode == 2, done.stderr
    assert done.stdout.endswith("}\n"), repr(done.stdout)
    assert "no sandbox is running" in json.loads(done.stdout)["error"]
    assert "Traceback" not in done.stderr
