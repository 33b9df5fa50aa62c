"""``sluice invoke``, ``trace`` and ``graph``: look at one worker, one request, the whole flow."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sluice.app import load_app
from sluice.commands.sandbox import LogFile, log_path
from sluice.target import SandboxState


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
            help='A direct-invoke payload JSON file for the API, e.g. {"op": "get_order", '
            '"params": {"order_id": "..."}}.',
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


def trace(
    correlation_id: Annotated[str, typer.Argument(help="the request's correlation id")],
    log_file: LogFile = None,
) -> None:
    """Every hop of one request, in order, from the sandbox log."""
    from sluice.tools.trace import hops, read

    path = log_file or _state_log() or log_path(None)
    found = hops(read(path), correlation_id)
    if not found:
        typer.secho(f"no hops for {correlation_id} in {path}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    table = Table(title=f"trace {correlation_id}", title_justify="left")
    for column in ("+ms", "hop", "where", "outcome", "detail"):
        table.add_column(column, justify="right" if column == "+ms" else "left")
    first = found[0].ts
    for hop in found:
        table.add_row(f"{(hop.ts - first) * 1000:.0f}", hop.hop, hop.where, hop.outcome, hop.detail)
    Console().print(table)


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
            output.write_text(text)
        return
    picture = draw.render(flow, fmt.value)
    target = output or Path(f"sluice-flow.{fmt.value}")
    target.write_bytes(picture)
    typer.echo(f"wrote {target} ({len(picture)} bytes)")


def _state_log() -> Path | None:
    try:
        state = SandboxState.load()
    except Exception:
        return None
    return Path(state.log_file) if state.log_file else None


def register(app: typer.Typer) -> None:
    """Mount the tool commands on the root command."""
    app.command()(invoke)
    app.command()(trace)
    app.command()(graph)
