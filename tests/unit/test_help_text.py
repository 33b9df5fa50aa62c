"""Every command's help shows what its source says: square brackets in a help text (extras
such as ``sluice[tools]``, ``[default]`` hints) are text, not markup the renderer eats."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from sluice.cli import build

BRACKETED = re.compile(r"\\?\[([^\]\s]+)\]")


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under the root, with the words that reach it."""
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from commands(command, (*path, name))


def test_bracketed_text_in_help_survives_rendering() -> None:
    app = build()
    root = typer.main.get_command(app)
    runner = CliRunner()
    checked = 0
    for path, command in commands(root):
        wanted = {f"[{inner}]" for inner in BRACKETED.findall(command.help or "")}
        if not wanted:
            continue
        shown = runner.invoke(app, [*path, "--help"], terminal_width=200).output
        for text in wanted:
            assert text in shown, (" ".join(path), text)
        checked += 1
    assert checked, "no help text has brackets: the test checks nothing"
