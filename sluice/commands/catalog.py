"""``sluice catalog``: the app's event types, versions and fields, or their JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sluice.app import load_app
from sluice.core.export import catalog_schemas
from sluice.tools import catalog as show
from sluice.tools.tables import print_table


def catalog(
    json_schema: Annotated[
        bool,
        typer.Option(
            "--json-schema",
            help="print each type and version's envelope JSON Schema (draft 2020-12)",
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="with --json-schema: write <type>.v<version>.schema.json files to this folder",
        ),
    ] = None,
) -> None:
    """The app's event catalog: every type, version and field, with its rules."""
    if output is not None and not json_schema:
        raise typer.BadParameter("--output goes with --json-schema", param_hint="--output")
    app = load_app()
    if not json_schema:
        table = Table(title="event catalog", title_justify="left")
        for column in ("type", "version", "field", "must be"):
            table.add_column(column)
        for row in show.rows(app.catalog):
            table.add_row(*row)
        print_table(Console(), table, whole=("type", "version", "field"))
    elif output is None:
        typer.echo(json.dumps(catalog_schemas(app.catalog), indent=2))
    else:
        for path in show.write(app.catalog, output):
            typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Mount ``catalog`` on the root app."""
    app.command("catalog")(catalog)
