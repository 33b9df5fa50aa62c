"""``sluice new DIR``: a new app in the reference app's shape, whose make demo/test/synth work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sluice import scaffold

HELP = """Create a new Sluice app in DIR (which must not exist, or be empty).

The project gets one event type (note.created), a `notes` table whose stream
is relayed to the events topic, an SNS-fed worker (`words`), a worker that
batch-processes the table's stream directly (`changes`), a demo, tests, a
Makefile and a README with the steps to add a worker, an event type, a
table, an API or a schedule, and to replace the example. --bare leaves the
example out: no events, tables or workers yet, placeholders saying where
they go, and tests read from the declaration; its make test, lint and synth
pass as it is. The folder's name prefixes every physical name.

The project depends on this Sluice: on its source tree when Sluice runs from
one (a `file://` requirement, which installs offline), otherwise on its
released version. --sluice overrides that requirement (a version, a path or
a VCS URL).

\b
Examples:
  sluice new ../acme && cd ../acme && make test
  sluice new ../acme --bare
  sluice new acme --sluice 'sluice-aws\\[tools,infra,dev]==0.2.0'
"""


def register(app: typer.Typer) -> None:
    """Mount ``sluice new`` on the root command."""
    app.command("new", help=HELP)(new)


def new(
    folder: Annotated[Path, typer.Argument(help="Where to create the project.")],
    *,
    sluice: Annotated[
        str | None,
        typer.Option("--sluice", help="The requirement the project installs Sluice by."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a folder that is not empty.")
    ] = False,
    bare: Annotated[
        bool, typer.Option("--bare", help="No example domain: start from an empty app.")
    ] = False,
) -> None:
    """Create a new Sluice app."""
    written = scaffold.create(folder, requirement=sluice, force=force, bare=bare)
    console = Console()
    for path in written:
        console.print(f"[green]created[/] {path}")
    then = "[cyan]make synth[/]" if bare else "[cyan]make demo[/] and [cyan]make synth[/]"
    console.print(
        f"\nNext: [cyan]cd {folder} && make test[/] (creates .venv), then {then}. The README"
        " says how to add a worker, an event, a table, an API or a schedule."
    )
