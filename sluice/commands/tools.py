"""``sluice invoke``, ``trace`` and ``graph``: look at one worker, one request, the whole flow."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sluice.app import load_app
from sluice.commands.sandbox import LogFile, log_path
from sluice.runtime import ConfigurationError
from sluice.target import SandboxState
from sluice.tools.tables import print_table


class GraphFormat(StrEnum):
    """Output formats of ``sluice graph``."""

    MERMAID = "mermaid"
    DOT = "dot"
    PNG = "png"
    SVG = "svg"


def invoke(
    worker: Annotated[
        str, typer.Argument(help="A worker name (see `sluice graph`), or `api` for the API.")
    ],
    event: Annotated[
        str | None,
        typer.Option(
            "--event",
            "-e",
            help="A Lambda event JSON file, or the name of one of the app's samples.",
        ),
    ] = None,
    payload: Annotated[
        Path | None,
        typer.Option(
            "--payload",
            "-p",
            help='A direct-invoke payload JSON file for the API, e.g. {"op": "get_thing", '
            '"params": {"thing_id": "..."}} (an op is a Route\'s op name).',
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option(help="use the running sandbox (the API: its Lambda Invoke endpoint)"),
    ] = False,
) -> None:
    """Invoke one worker's handler once with an event, like `sam local invoke`, or the API
    function with a direct payload. Exits 1 when the function crashed or refused the call."""
    from sluice.tools.invoke import invoke_api, invoke_once, load_event, load_payload

    app = load_app()
    is_api = app.api is not None and worker == app.api.name
    if (payload is None) == (event is None) or (payload is not None and not is_api):
        raise typer.BadParameter(
            "give --event FILE for a worker, or --payload FILE for the API "
            f"(`sluice invoke {app.api.name if app.api else 'api'} --payload call.json`)"
        )
    if payload is not None:
        response = invoke_api(load_payload(payload), local=local, log=sys.stderr, app=app)
    else:
        assert event is not None
        response = invoke_once(worker, load_event(event, app), local=local, log=sys.stderr, app=app)
    typer.echo(json.dumps(response, indent=2, default=str))
    if isinstance(response, dict) and ("errorType" in response or response.get("ok") is False):
        raise typer.Exit(1)


TRACE_HELP = (
    "Every hop of one request, in order: hop, where, outcome, detail, +ms.\n\n"
    "ID is the request's correlation id, the id of any envelope it caused, or another id "
    "logged next to it (an id the API logged). By default (or --local) it reads the sandbox's "
    "log: the one the sandbox's state file names, else .sluice/sandbox.log (a stopped "
    "sandbox's log can still be traced). --aws runs two CloudWatch Logs Insights queries over "
    "every function's log group of the stack instead (Insights bills $0.005 per GB scanned at "
    "the us-east-1 list price: --since bounds it)."
)


def trace(
    wanted: Annotated[str, typer.Argument(metavar="ID", help="correlation, envelope or other id")],
    *,
    log_file: LogFile = None,
    local: Annotated[
        bool, typer.Option("--local", help="Read the sandbox's log (the default).")
    ] = False,
    aws: Annotated[
        bool, typer.Option("--aws", help="Query CloudWatch Logs of the deployed stack.")
    ] = False,
    prefix: Annotated[
        str | None, typer.Option(help="--aws: the stack's resource prefix (default: the app's).")
    ] = None,
    since: Annotated[int, typer.Option(min=1, help="--aws: search the last N hours of logs.")] = 24,
) -> None:
    """Every hop of one request, in order, from the sandbox log (or --aws, CloudWatch Logs)."""
    from sluice.tools.trace import correlation_ids, hops, read

    if aws and (local or log_file is not None):
        raise typer.BadParameter("--aws reads CloudWatch Logs: drop --local and --log-file")
    if aws:
        from sluice.target import connect
        from sluice.tools.insights import Insights

        target = connect(local=False, prefix=prefix)
        logs = target.clients.client("logs")
        records = Insights(logs, target.topology).trace(wanted, timedelta(hours=since))
        where = f"the log groups of {target.topology.prefix} in {target.region}"
    else:
        path = log_file or _state_log() or log_path(None)
        records, where = list(read(path)), str(path)
    found = hops(records, correlation_ids(records, wanted))
    if not found:
        typer.secho(f"no hops for {wanted} in {where}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    table = Table(title=f"trace {wanted}", title_justify="left")
    for column in ("+ms", "hop", "where", "outcome", "detail"):
        table.add_column(column, justify="right" if column == "+ms" else "left")
    first = found[0].ts
    for hop in found:
        table.add_row(f"{(hop.ts - first) * 1000:.0f}", hop.hop, hop.where, hop.outcome, hop.detail)
    print_table(Console(), table, whole=("+ms", "hop", "where"))


def graph(
    fmt: Annotated[GraphFormat, typer.Option("--format", "-f")] = GraphFormat.MERMAID,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write")] = None,
) -> None:
    """The flow from the worker registry, as Mermaid (or DOT, or PNG/SVG drawn by Graphviz)."""
    from sluice.tools import graph as draw
    from sluice.topology import Topology

    flow = draw.flow(Topology(load_app()))
    if fmt in (GraphFormat.MERMAID, GraphFormat.DOT):
        text = draw.mermaid(flow) if fmt is GraphFormat.MERMAID else draw.dot(flow)
        if output is None:
            typer.echo(text, nl=False)
        else:
            _write(output, text.encode())
        return
    picture = draw.render(flow, fmt.value)
    target = output or Path(f"sluice-flow.{fmt.value}")
    _write(target, picture)
    typer.echo(f"wrote {target} ({len(picture)} bytes)")


def _write(path: Path, data: bytes) -> None:
    """Write the whole file, or say why it cannot be written."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from None


def _state_log() -> Path | None:
    """The log the sandbox's state file names (its sandbox may have stopped since)."""
    try:
        state = SandboxState.read()
    except ConfigurationError:
        return None
    return Path(state.log_file) if state.log_file else None


def register(app: typer.Typer) -> None:
    """Mount the tool commands on the root command."""
    app.command()(invoke)
    app.command(help=TRACE_HELP)(trace)
    app.command()(graph)
