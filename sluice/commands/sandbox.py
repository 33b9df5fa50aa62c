"""``sluice up`` and ``sluice demo``: the app's whole pipeline on this machine."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from sluice.app import load_app
from sluice.runtime import ConfigurationError
from sluice.target import STATE_DIR_ENV, state_dir

if TYPE_CHECKING:
    from sluice.local.sandbox import Sandbox

PORT_MAX = 65535
LogFile = Annotated[
    Path | None, typer.Option("--log-file", help="JSON lines log (default .sluice/sandbox.log)")
]


def log_path(given: Path | None) -> Path:
    """The sandbox log: ``--log-file``, or ``sandbox.log`` in the state folder."""
    return given or state_dir() / "sandbox.log"


def up(
    *,
    port: Annotated[
        int, typer.Option(min=0, max=PORT_MAX, help="moto server port (0: a free one)")
    ] = 0,
    api_port: Annotated[
        int, typer.Option(min=0, max=PORT_MAX, help="HTTP API port (0: a free one)")
    ] = 0,
    invoke_port: Annotated[
        int,
        typer.Option(
            min=0,
            max=PORT_MAX,
            help="the API function's Lambda Invoke endpoint port (0: a free one)",
        ),
    ] = 0,
    log_file: LogFile = None,
    quiet: Annotated[
        bool, typer.Option(help="nothing on screen but errors; the JSON log file as ever")
    ] = False,
    hosted_elsewhere: Annotated[
        list[str] | None,
        typer.Option(
            "--hosted-elsewhere",
            metavar="WORKER",
            help="A queue worker the sandbox provisions but does not run (no poller, no "
            "container child): you run `sluice work WORKER --local` yourself, e.g. to debug "
            "or restart it. Repeat for several.",
        ),
    ] = None,
) -> None:
    """Run the whole pipeline here until Ctrl-C: moto server, API over HTTP, every worker."""
    from sluice.local.logs import LogSink
    from sluice.local.sandbox import Sandbox

    console = Console(stderr=True, quiet=quiet, soft_wrap=True)
    path = log_path(log_file)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    from sluice.local.scheduler import STATE_FILE

    box = Sandbox(
        port=port,
        api_port=api_port,
        invoke_port=invoke_port,
        sink=LogSink(path, None if quiet else console),
        schedule_state=state_dir() / STATE_FILE,
        hosted_elsewhere=tuple(hosted_elsewhere or ()),
    )
    try:
        box.start()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot serve the API on --api-port {api_port} (or --invoke-port {invoke_port}): {exc}"
        ) from None
    state_file = box.state(path).save()
    console.print(_banner(box, path))
    for name in box.hosted_elsewhere:
        console.print(f"{name} is hosted elsewhere: run [bold]sluice work {name} --local[/]")
    try:
        # Wake up every second: a signal may be delivered to any thread, and only the main
        # thread runs Python's handler, which an untimed wait would never let it do.
        while not stop.wait(1.0):
            pass
    finally:
        api = "API, " if box.api_url else ""
        console.print(f"[bold]stopping[/]: {api}pollers (batches in flight finish), moto server")
        box.stop()
        box.sink.close()
        state_file.unlink(missing_ok=True)
        console.print("[bold]stopped[/]")


def _banner(box: Sandbox, path: Path) -> str:
    """What ``sluice up`` serves where; an app without an API names none."""
    served = [f"API [cyan]{box.api_url}[/]"] if box.api_url else []
    served += [f"AWS endpoint [cyan]{box.endpoint_url}[/]", f"log [cyan]{path}[/]"]
    invoke = (
        f"Lambda Invoke of [bold]{box.api_function}[/] at [cyan]{box.invoke_url}[/]\n"
        if box.invoke_url
        else ""
    )
    return (
        f"[bold green]sandbox up[/] in {box.startup_s:.1f} s: {', '.join(served)}\n{invoke}"
        "attach other commands with [bold]--local[/]; Ctrl-C stops everything"
    )


def demo(
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            "-n",
            min=1,
            max=2000,
            help="How much traffic the app's demo sends, in its own unit (default: its own).",
        ),
    ] = None,
    log_file: LogFile = None,
) -> None:
    """Start the sandbox, run the app's demo (App.demo) through it, and check the end state."""
    from sluice.demo import run

    passed = run(load_app(), Console(), log_path(log_file), count)
    raise typer.Exit(0 if passed else 1)


UP_HELP = (
    "Run the whole pipeline here until Ctrl-C: moto server, API over HTTP, every worker.\n\n"
    "It keeps its state file (sandbox.json: endpoints, pid), its log (sandbox.log) and the "
    f"schedules' fired slots in .sluice/, or in the folder {STATE_DIR_ENV} names. Other "
    "commands attach with --local through that folder: give them the same "
    f"{STATE_DIR_ENV} (two sandboxes side by side need two folders)."
)


def register(app: typer.Typer) -> None:
    """Mount the sandbox commands on the root command."""
    app.command(help=UP_HELP)(up)
    app.command()(demo)
