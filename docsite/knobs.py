"""The declaration's knobs: every field of ``App`` and its parts, and every ``@worker``
setting, with its type, its default and its docstring.

Read from the dataclasses (names, order, defaults) and from their source (the docstring
under each field, the annotation as written), so a new knob shows up by itself, and one
without a docstring fails the build.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import griffe

from docsite.api_pages import source_object
from docsite.cli_page import escape


class UndocumentedKnobError(ValueError):
    """A declaration field has no docstring."""


# (the class as users name it, where it is defined, the fields a user does not pass)
DECLARATIONS = (
    ("sluice.app.App", "sluice.app.App", ("root", "given_registry")),
    ("sluice.app.Table", "sluice.app.Table", ()),
    ("sluice.app.Api", "sluice.app.Api", ()),
    ("sluice.app.Route", "sluice.app.Route", ()),
    ("sluice.app.DirectCallers", "sluice.app.DirectCallers", ()),
    ("sluice.app.Schedule", "sluice.schedule.Schedule", ()),
)
# `@worker(...)` takes `catalog`, then WorkerSpec's fields as keywords (`module` is the
# decorated function's, never passed).
WORKER_SPEC = "sluice.runtime.spec.WorkerSpec"
WORKER_FIXED = ("module",)


def page(documented: set[str], search_paths: Iterable[Path] = ()) -> str:
    """The declaration reference page; names in ``documented`` link to the API reference."""
    paths = [str(p) for p in search_paths]
    lines = [
        "# The declaration: every knob",
        "",
        "Every field of the app declaration and every `@worker` setting, with its type, its "
        "default and what it does, generated from the code when the site is built. The "
        "[API reference](api/index.md) has the methods.",
        "",
    ]
    for shown, defined, internal in DECLARATIONS:
        lines += _section(shown, defined, internal, paths, documented)
    lines += [
        "## `@worker(...)`",
        "",
        "`@worker(catalog=CATALOG, subscribes=[...], source=Source.SNS_QUEUE, name=None, "
        "**settings)` declares a worker: `catalog` is the app's `Catalog` (its records are "
        "decoded and checked against it, and `subscribes` must name types it knows); the "
        "function's name is the worker's unless `name=` is given; every other keyword is a "
        f"field of {_link('sluice.runtime.WorkerSpec', documented)} below. A bad combination "
        "fails when the module is imported, with a sentence saying how to fix it.",
        "",
    ]
    lines += field_lines(WORKER_SPEC, WORKER_FIXED, paths)
    return "\n".join(lines)


def _section(
    shown: str, defined: str, internal: tuple[str, ...], paths: list[str], documented: set[str]
) -> list[str]:
    cls = _load(defined, paths)
    short = shown.rsplit(".", 1)[1]
    doc = cls.docstring.value.split("\n\n", 1)[0] if cls.docstring else ""
    head = [f"## `{short}`", "", f"{_link(shown, documented)}: {escape(doc)}", ""]
    return head + field_lines(defined, internal, paths)


def _link(name: str, documented: set[str]) -> str:
    """``name`` linked to its API reference entry when it has one."""
    return f"[`{name}`][{name}]" if name in documented else f"`{name}`"


def field_lines(defined: str, internal: tuple[str, ...], paths: list[str]) -> list[str]:
    """One list item per field: name, annotation, default, then its docstring."""
    cls = _load(defined, paths)
    runtime = _import(defined)
    lines = []
    for field in dataclasses.fields(runtime):
        if field.name in internal:
            continue
        member = cls.members.get(field.name)
        if member is None or member.docstring is None:
            raise UndocumentedKnobError(
                f"{defined}.{field.name} has no docstring: write one under the field "
                "(the declaration reference is generated from it)"
            )
        annotation = str(getattr(member, "annotation", "") or "")
        default = _default(field)
        said = " ".join(member.docstring.value.split())
        lines.append(f"- **`{field.name}`** `{annotation}`{default}: {escape(said)}")
    return [*lines, ""]


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        return f" = `{field.default!r}`"
    if field.default_factory is not dataclasses.MISSING:
        return f" = `{field.default_factory()!r}`"
    return " (required)"


def _load(path: str, search_paths: list[str]) -> griffe.Class:
    found = source_object(path, [Path(p) for p in search_paths])
    assert isinstance(found, griffe.Class)
    return found


def _import(path: str) -> Any:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)
