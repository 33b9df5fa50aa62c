"""The moto server, run as a child process that cannot outlive the sandbox.

A child process gives moto its own interpreter (and core) instead of sharing the GIL with
the pollers and workers. It binds 127.0.0.1, reports its port on stdout, and exits when
its stdin closes, so it ends with its parent even if the parent is killed.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sluice.runtime.errors import ConfigurationError

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_EC2_METADATA_DISABLED": "true",
}
READY = "sluice-moto-ready"


@dataclass
class MotoServer:
    """A moto server child process on 127.0.0.1."""

    region: str
    port: int = 0
    startup_timeout_s: float = 20.0
    log_path: Path | None = None
    """Where moto's own stderr goes (its tracebacks are noise in the merged log)."""
    _process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def endpoint_url(self) -> str:
        """Where boto3 clients point."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The child's process id, while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> MotoServer:
        """Start the child and wait until it listens."""
        env = {**os.environ, **FAKE_AWS, "AWS_DEFAULT_REGION": self.region}
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        errors = self.log_path.open("w") if self.log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [sys.executable, "-m", "sluice.local.server", "--port", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the sandbox, which then stops the child
        )
        if self.log_path is not None:
            errors.close()  # type: ignore[union-attr]
        assert self._process.stdout is not None
        deadline = time.monotonic() + self.startup_timeout_s
        line = ""
        while time.monotonic() < deadline and not line.startswith(READY):
            line = self._process.stdout.readline()
            if not line and self._process.poll() is not None:
                break
        if not line.startswith(READY):
            self.stop()
            where = f"port {self.port}" if self.port else "a free port"
            raise ConfigurationError(
                f"the moto server did not start on 127.0.0.1, {where} (is it in use? try "
                "another --port); `python -m sluice.local.server --port N` shows why"
            )
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        """Close its stdin (it exits), then make sure it did."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


class _OneAtATime:
    """Serialize moto's requests (its backends are not thread-safe), except SQS receives,
    which may long-poll and must not block everything else while they wait."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET", "").endswith(".ReceiveMessage"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


def _serve(port: int) -> None:
    """The child: serve moto until stdin closes or a signal arrives."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from sluice.local import moto_speedups, sqs_metrics
    from sluice.local.keepalive import KeepAliveHandler

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_speedups.install()
    sqs_metrics.install()

    app = _OneAtATime(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAliveHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())

    def wait_for_eof() -> None:
        sys.stdin.read()
        done.set()

    watcher = threading.Thread(target=wait_for_eof, daemon=True)
    watcher.start()
    print(READY, server.server_port, flush=True)
    while not done.wait(1.0):  # timed: the signal handler runs only when the main thread wakes
        pass
    server.shutdown()
    thread.join()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="moto server for the Sluice sandbox")
    parser.add_argument("--port", type=int, default=0)
    _serve(parser.parse_args().port)
