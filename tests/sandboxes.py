"""`sluice` in a subprocess, and the state folders its `--local` attaches to: one a killed
sandbox left, or a live one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from sluice.app import App
from sluice.local.provision import provision
from sluice.local.server import MotoServer
from sluice.runtime import Clients
from sluice.target import SANDBOX_REGION, SandboxState, sandbox_session
from sluice.topology import Topology


def stale_state(folder: Path) -> SandboxState:
    """The state file `kill -9` of `sluice up` leaves: a closed 127.0.0.1 port, a dead pid."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends
    gone = subprocess.Popen(["true"])
    gone.wait()
    url = f"http://127.0.0.1:{port}"
    state = SandboxState(
        endpoint_url=url,
        api_url=url,
        invoke_url=url,
        region=SANDBOX_REGION,
        pid=gone.pid,
        log_file=str(folder / "sandbox.log"),
    )
    state.save(folder / "sandbox.json")
    return state


def live_state(app: App, folder: Path) -> tuple[MotoServer, SandboxState]:
    """A moto server child with the app provisioned (no pollers), and its state file;
    ``stop()`` the server when done."""
    server = MotoServer(region=SANDBOX_REGION).start()
    try:
        clients = Clients(sandbox_session(), endpoint_url=server.endpoint_url)
        provision(clients, Topology(app))
        state = SandboxState(endpoint_url=server.endpoint_url, api_url="", region=SANDBOX_REGION)
        state.save(folder / "sandbox.json")
    except BaseException:
        server.stop()
        raise
    return server, state


def run_sluice(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``sluice ARGS`` as a user runs it, to the end, its state folder ``state_dir``."""
    return subprocess.run(
        [sys.executable, "-m", "sluice.cli", *args],
        env={**os.environ, "SLUICE_STATE_DIR": str(state_dir), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
