"""Pages made by running ``sluice`` on the reference app, and the reports it includes.

Each runs the command a user would (``sluice catalog --json-schema``, ``sluice graph
--format svg``) in a subprocess, in the project's folder, so the site shows what the
command gives today.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


class CommandFailedError(RuntimeError):
    """A ``sluice`` command the site needs failed; its own error is the message."""


@dataclass(frozen=True)
class Schema:
    """One exported JSON Schema: its file name and its text."""

    file: str
    text: str


def sluice(root: Path, *args: str) -> str:
    """Run ``sluice ARGS`` in ``root`` and return what it printed, or fail with its error."""
    done = subprocess.run(
        [sys.executable, "-m", "sluice.cli", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise CommandFailedError(f"`sluice {' '.join(args)}` failed: {' / '.join(said[-3:])}")
    return done.stdout


def schemas(root: Path) -> list[Schema]:
    """Every envelope JSON Schema ``sluice catalog --json-schema -o DIR`` writes."""
    with tempfile.TemporaryDirectory(prefix="sluice-docs-") as folder:
        sluice(root, "catalog", "--json-schema", "-o", folder)
        return [Schema(p.name, p.read_text()) for p in sorted(Path(folder).glob("*.json"))]


def schemas_page(found: list[Schema], folder: str) -> str:
    """The JSON Schemas page: one section per type and version, its file linked."""
    lines = [
        "# Event JSON Schemas",
        "",
        "The envelope of every event type and version of the reference app's catalog, as "
        "JSON Schema (draft 2020-12), for producers written in other languages. Generated "
        "when the site is built by `sluice catalog --json-schema -o DIR`; run the same in "
        "your own project for its catalog.",
        "",
    ]
    for schema in found:
        parsed = json.loads(schema.text)
        title = schema.file.removesuffix(".schema.json")
        lines += [f"## `{title}`", ""]
        if parsed.get("description"):
            lines += [str(parsed["description"]), ""]
        lines += [
            f"[Download `{schema.file}`]({folder}/{schema.file})",
            "",
            f'??? example "{schema.file}"',
            "",
            "    ```json",
            *(f"    {line}" for line in schema.text.splitlines()),
            "    ```",
            "",
        ]
    return "\n".join(lines)


def flow_svg(root: Path) -> bytes:
    """``sluice graph --format svg`` of the app in ``root`` (Graphviz draws it)."""
    with tempfile.TemporaryDirectory(prefix="sluice-docs-") as folder:
        target = Path(folder) / "flow.svg"
        sluice(root, "graph", "--format", "svg", "--output", str(target))
        return target.read_bytes()


def included(report: Path, note: str) -> str:
    """A report kept in the repository, as a page: a line saying where it comes from, then
    the report as it is."""
    text = report.read_text()
    title, _, rest = text.partition("\n")
    if not title.startswith("# "):
        return f"{note}\n\n{text}"
    return f"{title}\n\n{note}\n{rest}"
