"""The ``sluice`` command. Every command lives in ``sluice.commands``; this file mounts them."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError

from sluice import DISTRIBUTION, installed_version
from sluice.runtime.errors import ConfigurationError

app = typer.Typer(
    name="sluice",
    help="Run, test and operate an event-driven worker pipeline, on AWS or on this machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"{DISTRIBUTION} {installed_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the installed version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Run, test and operate an event-driven worker pipeline, on AWS or on this machine."""


# Each module exposes `register(app: typer.Typer) -> None`.
COMMAND_MODULES = (
    "sluice.commands.new",
    "sluice.commands.publish",
    "sluice.commands.sandbox",
    "sluice.commands.tools",
    "sluice.commands.dlq",
    "sluice.commands.schedule",
    "sluice.commands.top",
    "sluice.commands.work",
    "sluice.commands.catalog",
    "sluice.commands.env",
    "sluice.commands.capacity",
)


def build() -> typer.Typer:
    """Mount every area's commands on the root app."""
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main() -> None:
    """Console-script entry point: a refusal, a file or an AWS error is one line, no traceback.

    Exit 2 when the command could not run as asked (configuration, a file it cannot read or
    write), 1 when AWS (or the sandbox) failed a call.
    """
    try:
        build()(standalone_mode=True)
    except ConfigurationError as exc:
        _fail(str(exc), 2)
    except OSError as exc:
        _fail(file_error(exc), 2)
    except (BotoCoreError, ClientError) as exc:
        _fail(str(exc), 1)


def file_error(exc: OSError) -> str:
    """``PATH: reason`` for an error that names its file, else the error as Python says it."""
    if exc.filename is None or not exc.strerror:
        return str(exc)
    return f"{exc.filename}: {exc.strerror}"


def _fail(text: str, code: int) -> None:
    typer.secho(f"error: {text}", fg=typer.colors.RED, err=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
