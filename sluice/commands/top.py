"""``sluice top``: a live view of every worker (Textual), or one snapshot with ``--once``."""

from __future__ import annotations

import json as jsonlib
import os
import re
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError

from sluice.commands import dlq_view as render
from sluice.commands.dlq import Local, Prefix, failing
from sluice.commands.sandbox import LogFile, log_path
from sluice.runtime.errors import ConfigurationError
from sluice.target import connect
from sluice.tools.tables import print_table
from sluice.tools.top import Snapshot, Watcher
from sluice.tools.top.cloudwatch import METRICS_PER_WORKER, USD_PER_1000_METRICS, cost_per_hour
from sluice.tools.top.view import DROP_FIRST, LABELS, table

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}
DEFAULT_METRICS_EVERY_S = 60.0

TOP_HELP = (
    "A live view of every worker: queue depth (visible/in flight), oldest message, DLQ depth, "
    "processed / failed / dead-lettered / duplicates per minute, p50/p95 invocation time and "
    "concurrency. What an alarm would fire on is red (the CDK alarms' thresholds).\n\n"
    "Keys: up/down select a worker, left/right scroll (the worker column stays), enter shows "
    "its newest dead letters (`sluice dlq show`), r previews a replay of its DLQ "
    "(`sluice dlq replay --dry-run`), q quits. A terminal too narrow for every column drops "
    "source, dups, conc, p50 and oldest first, in that order.\n\n"
    "Not a terminal (a pipe, a file), or --once: one snapshot as a table, then exit. --json: "
    "one JSON document of one snapshot, then exit; --json --stream: one JSON object per line "
    "every --interval, flushed, until Ctrl-C or the reader closes the pipe.\n\n"
    "--local reads the sandbox's queues and its log. On AWS it reads queue attributes every "
    "--interval, and CloudWatch with ONE GetMetricData for all workers "
    f"({METRICS_PER_WORKER} metrics each) at most every --metrics-every.\n\n"
    f"Cost: GetMetricData is ${USD_PER_1000_METRICS} per 1,000 metrics requested (us-east-1 "
    "list price, CloudWatch pricing page): watching 5 workers costs "
    f"${cost_per_hour(5, DEFAULT_METRICS_EVERY_S):.2f} an hour at the default --metrics-every "
    f"60s, ${cost_per_hour(5, 2):.2f} at 2s (CloudWatch's data is per minute anyway). "
    "GetQueueAttributes ($0.40 per million requests) adds well under a cent an hour."
)


def parse_span(text: str) -> float:
    """``2s``, ``500ms``, ``1m`` or ``3`` (seconds) -> seconds, or a usage error."""
    match = _SPAN.match(text.strip())
    if match is None or float(match.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r} is not a span such as 2s, 500ms or 1m")
    return float(match.group(1)) * _SCALE[match.group(2)]


def top(
    *,
    local: Local = False,
    prefix: Prefix = None,
    interval: Annotated[
        str, typer.Option(help="Refresh every (2s, 500ms, 1m): queue depths and the view.")
    ] = "2s",
    metrics_every: Annotated[
        str, typer.Option(help="AWS only: one GetMetricData at most this often (see cost).")
    ] = "60s",
    worker: Annotated[
        list[str] | None, typer.Option("--worker", "-w", help="Watch only these; repeat.")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Print one snapshot and exit (what a pipe gets).")
    ] = False,
    json: Annotated[
        bool, typer.Option("--json", help="One JSON document of one snapshot, then exit.")
    ] = False,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream", help="With --json: one JSON object per line every --interval, flushed."
        ),
    ] = False,
    log_file: LogFile = None,
) -> None:
    """Watch the pipeline live (see --help for keys and the AWS cost)."""
    from sluice.tools.top import aws_watcher, local_watcher

    every, metrics_s = parse_span(interval), parse_span(metrics_every)
    if stream and not json:
        raise typer.BadParameter("--stream goes with --json", param_hint="--stream")
    with failing(json):
        target = connect(local=local, prefix=prefix)
    try:
        if local:
            state_log = target.sandbox.log_file if target.sandbox else None
            path = log_file or (Path(state_log) if state_log else log_path(None))
            watcher = local_watcher(target, path, worker)
        else:
            watcher = aws_watcher(target, metrics_s, worker)
    except LookupError as exc:
        raise typer.BadParameter(str(exc)) from None
    if stream:
        _stream(watcher, every)
    elif once or json or not sys.stdout.isatty():  # a TUI drawn into a pipe helps no one
        with failing(json):
            snapshot = _snapshot(watcher)
        if json:
            render.emit_json(snapshot.to_json())
        else:
            print_table(render.out, table(snapshot), whole=("worker",), drop=_DROP_LABELS)
    else:
        from sluice.commands.top_screen import TopScreen

        TopScreen(watcher, every).run()


_DROP_LABELS = tuple(LABELS[key] for key in DROP_FIRST)


def _snapshot(watcher: Watcher) -> Snapshot:
    try:
        return watcher.snapshot()
    except (BotoCoreError, ClientError) as exc:
        raise ConfigurationError(f"could not read {watcher.target.where}: {exc}") from None


def _stream(watcher: Watcher, every_s: float) -> None:
    """One compact JSON object per line and per refresh, until Ctrl-C or the reader leaves;
    a failed refresh is a line ``{"error": ..., "at": ...}`` and the next one tries again."""
    try:
        while True:
            started = time.monotonic()
            try:
                doc = _snapshot(watcher).to_json()
            except ConfigurationError as exc:
                doc = {"error": str(exc), "at": time.time()}
            sys.stdout.write(jsonlib.dumps(doc, default=str) + "\n")
            sys.stdout.flush()
            time.sleep(max(0.0, every_s - (time.monotonic() - started)))
    except KeyboardInterrupt:
        return
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def register(app: typer.Typer) -> None:
    """Mount ``sluice top`` on the root command."""
    app.command(help=TOP_HELP)(top)
