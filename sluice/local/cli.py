"""``sluice up``, ``demo``, ``invoke``, ``trace`` and ``graph``: the pipeline on this machine."""

from __future__ import annotations

import json
import signal
import sys
import threading
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sluice.app import load_app
from sluice.runtime import ConfigurationError
from sluice.target import SandboxState, state_dir

LogFile = Annotated[
    Path | None, typer.Option("--log-file", help="JSON lines log (default .sluice/sandbox.log)")
]


class GraphFormat(StrEnum):
    """Output formats of ``sluice graph``."""

    MERMAID = "mermaid"
    DOT = "dot"
    PNG = "png"
    SVG = "svg"


def _log_path(given: Path | None) -> Path:
    return given or state_dir() / "sandbox.log"


def up(
    port: Annotated[int, typer.Option(help="moto server port (0: a free one)")] = 0,
    api_port: Annotated[int, typer.Option(help="HTTP API port (0: a free one)")] = 0,
    log_file: LogFile = None,
    quiet: Annotated[bool, typer.Option(help="only the JSON log file, nothing on screen")] = False,
) -> None:
    """Run the whole pipeline here until Ctrl-C: moto server, API over HTTP, every worker."""
    from sluice.local.logs import LogSink
    from sluice.local.sandbox import Sandbox

    console = Console(stderr=True)
    path = _log_path(log_file)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    box = Sandbox(port=port, api_port=api_port, sink=LogSink(path, None if quiet else console))
    try:
        box.start()
    except OSError as exc:
        raise ConfigurationError(f"cannot serve the API on --api-port {api_port}: {exc}") from None
    state_file = box.state(path).save()
    console.print(
        f"[bold green]sandbox up[/] in {box.startup_s:.1f} s: API [cyan]{box.api_url}[/], "
        f"AWS endpoint [cyan]{box.endpoint_url}[/], log [cyan]{path}[/]\n"
        "attach other commands with [bold]--local[/]; Ctrl-C stops everything"
    )
    try:
        stop.wait()
    finally:
        console.print("[bold]stopping[/]: API, pollers (batches in flight finish), moto server")
        box.stop()
        box.sink.close()
        state_file.unlink(missing_ok=True)
        console.print("[bold]stopped[/]")


def demo(
    orders: Annotated[int, typer.Option(min=1, max=2000, help="orders to place")] = 50,
    log_file: LogFile = None,
) -> None:
    """Start the sandbox, push orders, payments, a duplicate and a poison event; check it all."""
    from sluice.local.demo import run

    passed = run(orders, Console(), _log_path(log_file))
    raise typer.Exit(0 if passed else 1)


def invoke(
    worker: Annotated[str, typer.Argument(help="worker name, e.g. inventory")],
    event: Annotated[str, typer.Option("--event", "-e", help="event JSON file or sample name")],
    local: Annotated[
        bool, typer.Option(help="use the running sandbox (else in-process moto)")
    ] = False,
) -> None:
    """Invoke one worker's handler once with an event, like `sam local invoke`."""
    from sluice.local.invoke import invoke_once, load_event

    response = invoke_once(worker, load_event(event), local=local, log=sys.stderr)
    typer.echo(json.dumps(response, indent=2, default=str))
    if isinstance(response, dict) and "errorType" in response:
        raise typer.Exit(1)


def trace(
    correlation_id: Annotated[str, typer.Argument(help="the request's correlation id")],
    log_file: LogFile = None,
) -> None:
    """Every hop of one request, in order, from the sandbox log."""
    from sluice.local.trace import hops, read

    path = log_file or _state_log() or _log_path(None)
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
    from sluice.local import graph as draw
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
    """Mount the sandbox commands on the root command."""
    app.command()(up)
    app.command()(demo)
    app.command()(invoke)
    app.command()(trace)
    app.command()(graph)
