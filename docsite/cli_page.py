"""The CLI reference, written from the typer app itself: every command, argument and option.

Each option's line is what ``--help`` prints for it (its names, its type and its default),
so the page cannot drift from the command. Help text keeps its paragraphs; a paragraph
that click keeps unwrapped (``\\b``) becomes a code block.
"""

from __future__ import annotations

import re
from typing import Any

import typer
import typer.main

NO_REWRAP = "\b"
_MARKUP_ESCAPE = re.compile(r"\\(\[)")
_CODE_SPAN = re.compile(r"(`[^`]*`)")
_RST_CODE = re.compile(r"``([^`]+)``")  # docstrings' ``code``, as Markdown's `code`


def page(app: typer.Typer, name: str = "sluice") -> str:
    """The whole reference page of ``app``, run as ``name``."""
    root = typer.main.get_command(app)
    lines = [
        "# CLI reference",
        "",
        f"Every `{name}` command with each argument and option, generated from the command "
        f"itself when the site is built (what `{name} COMMAND --help` prints).",
        "",
    ]
    for path, command, ctx in _walk(root, [name], None):
        lines += _command(path, command, ctx)
    return "\n".join(lines)


def _walk(command: Any, path: list[str], parent: Any) -> list[tuple[list[str], Any, Any]]:
    """The command, then each of its subcommands in the order they were mounted."""
    ctx = command.make_context(path[-1], [], parent=parent, resilient_parsing=True)
    found = [(path, command, ctx)]
    for sub_name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            found += _walk(sub, [*path, sub_name], ctx)
    return found


def _command(path: list[str], command: Any, ctx: Any) -> list[str]:
    """One command's section: heading, help, usage, then its arguments and options."""
    level = "#" * min(len(path) + 1, 4)
    lines = [f"{level} `{' '.join(path)}`", ""]
    lines += [*help_markdown(command.help or ""), ""]
    usage = command.get_usage(ctx).removeprefix("Usage: ").strip()
    lines += ["```text", f"{usage}", "```", ""]
    subcommands = [n for n, c in getattr(command, "commands", {}).items() if not c.hidden]
    if subcommands:
        listed = ", ".join(f"[`{n}`](#{_slug([*path, n])})" for n in subcommands)
        lines += [f"Commands: {listed}.", ""]
    records = [r for r in (p.get_help_record(ctx) for p in command.get_params(ctx)) if r]
    if records:
        lines += ["**Arguments and options**", ""]
        lines += [f"- `{names}`: {escape(text)}".rstrip(": ") for names, text in records]
        lines.append("")
    return lines


def _slug(path: list[str]) -> str:
    """The anchor mkdocs gives a heading such as ``sluice dlq replay`` (toc's slugify)."""
    return "-".join(path).lower()


def help_markdown(text: str) -> list[str]:
    """A command's help as Markdown paragraphs; ``\\b`` paragraphs stay as written."""
    lines: list[str] = []
    for paragraph in re.split(r"\n\s*\n", _MARKUP_ESCAPE.sub(r"\1", text.strip())):
        if paragraph.startswith(NO_REWRAP):
            lines += ["```text", paragraph.removeprefix(NO_REWRAP).strip("\n"), "```", ""]
        else:
            lines += [escape(paragraph), ""]
    return lines[:-1]


def escape(text: str) -> str:
    """Text with ``<``, ``>``, ``*`` and ``_`` shown as written, code spans left alone
    (``code`` written the reStructuredText way included)."""
    text = _RST_CODE.sub(r"`\1`", _MARKUP_ESCAPE.sub(r"\1", text))
    pieces = _CODE_SPAN.split(text)
    for i in range(0, len(pieces), 2):
        piece = pieces[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        pieces[i] = piece.replace("*", r"\*").replace("_", r"\_")
    return "".join(pieces)
