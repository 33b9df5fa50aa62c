"""``sluice top``: a live view of every worker (Textual), or one snapshot with ``--once``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError

from sluice.commands import dlq_view as render
from sluice.commands.dlq import Local, Prefix
from sluice.commands.sandbox import LogFile, log_path
from sluice.target import connect
from sluice.tools.top.cloudwatch import METRICS_PER_WORKER, USD_PER_1000_METRICS, cost_per_hour
from sluice.tools.top.view import table

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}
DEFAULT_METRICS_EVERY_S = 60.0

TOP_HELP = (
    "A live view of every worker: queue depth (visible/in flight), oldest message, DLQ depth, "
    "processed / failed / dead-lettered / duplicates per minute, p50/p95 invocation time and "
    "concurrency. What an alarm would fire on is red (the CDK alarms' thresholds).\n\n"
    "Keys: up/down select a worker, enter shows its newest dead letters (`sluice dlq show`), "
    "r previews a replay of its DLQ (`sluice dlq replay --dry-run`), q quits.\n\n"
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
    once: Annotated[bool, typer.Option("--once", help="Print one snapshot and exit.")] = False,
    json: Annotated[bool, typer.Option("--json", help="With --once: one JSON document.")] = False,
    log_file: LogFile = None,
) -> None:
    """Watch the pipeline live (see --help for keys and the AWS cost)."""
    from sluice.tools.top import aws_watcher, local_watcher

    every, metrics_s = parse_span(interval), parse_span(metrics_every)
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
    if once:
        try:
            snapshot = watcher.snapshot()
        except (BotoCoreError, ClientError) as exc:
            render.err.print(f"[red]error:[/] could not read {target.where}: {exc}")
            raise typer.Exit(2) from None
        if json:
            render.emit_json(snapshot.to_json())
        else:
            render.out.print(table(snapshot))
        return
    from sluice.commands.top_screen import TopScreen

    TopScreen(watcher, every).run()


def register(app: typer.Typer) -> None:
    """Mount ``sluice top`` on the root command."""
    app.command(help=TOP_HELP)(top)
