"""``sluice work``: one worker as a long-running SQS consumer (an ECS task, or locally)."""

from __future__ import annotations

import io
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from sluice.app import load_app
from sluice.runtime.sqs_event import LONG_POLL_MAX_S


def work(
    worker: Annotated[str, typer.Argument(help="The worker to run (see `sluice graph`).")],
    *,
    local: Annotated[
        bool, typer.Option("--local", help="Consume the running sandbox's queue (`sluice up`).")
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=1000, help="Records running at once.")
    ] = 10,
    drain_s: Annotated[
        float,
        typer.Option("--drain-s", min=0, help="On SIGTERM, seconds in-flight records get."),
    ] = 30.0,
    wait_s: Annotated[
        int,
        typer.Option("--wait-s", min=0, max=LONG_POLL_MAX_S, help="Long-poll wait per receive."),
    ] = LONG_POLL_MAX_S,
    health_file: Annotated[
        Path | None,
        typer.Option(help="Touched after every receive (the task's health check reads it)."),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(help="An SQS/DynamoDB endpoint to use instead (the sandbox's moto server)."),
    ] = None,
    region: Annotated[str | None, typer.Option(help="With --endpoint-url: its region.")] = None,
    prefix: Annotated[
        str | None, typer.Option(help="Physical-name prefix (default: app's).")
    ] = None,
) -> None:
    """Consume WORKER's queue until SIGTERM, then drain and exit 0.

    The same function and engine as its Lambda: partial failures, DLQ, backoff, FIFO
    groups, idempotency. Adds a visibility heartbeat, ECS scale-in protection (when
    ECS_AGENT_URI is set) and a drain on SIGTERM.
    """
    from sluice.container import HealthFile, WorkSettings
    from sluice.container.launch import PARENT_ENV, aws_runner, endpoint_runner, stop_with_parent
    from sluice.target import SandboxState

    # one JSON line per record, flushed as written: piped to a file or to the sandbox's log
    # (or a container's log driver), a block buffer would hold lines back for minutes
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    app = load_app()
    settings = WorkSettings(concurrency=concurrency, wait_s=wait_s, drain_s=drain_s)
    health = HealthFile(health_file)
    if local or endpoint_url:
        state = SandboxState.load() if endpoint_url is None else None
        runner = endpoint_runner(
            app,
            worker,
            settings,
            endpoint_url=endpoint_url or state.endpoint_url,  # type: ignore[union-attr]
            region=region or (state.region if state else "eu-west-1"),
            prefix=prefix or (state.prefix if state else None),
            log=sys.stdout,
            health=health,
        )
    else:
        runner = aws_runner(app, worker, settings, health)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runner.stop())
    parent = os.environ.get(PARENT_ENV)
    if parent and parent.isdigit():
        stop_with_parent(runner, int(parent))
    clean = runner.run()
    sys.stdout.flush()
    if not clean:  # threads still hold records handed back: leave without joining them
        os._exit(0)


def register(app: typer.Typer) -> None:
    """Mount ``sluice work``."""
    app.command()(work)
