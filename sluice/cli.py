"""The ``sluice`` command. Every command lives in ``sluice.commands``; this file mounts them."""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="sluice",
    help="Run, test and operate an event-driven worker pipeline, on AWS or on this machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

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
)


def build() -> typer.Typer:
    """Mount every area's commands on the root app."""
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main() -> None:
    """Console-script entry point."""
    from sluice.runtime.errors import ConfigurationError

    try:
        build()(standalone_mode=True)
    except ConfigurationError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
