"""The API reference: one page per public package, listing exactly its public names.

A package's public names are its ``__all__`` when it has one; otherwise the names it defines
that do not start with ``_`` (griffe's reading, the one its breakage check uses). The
packages are the ones a user imports: the framework's front doors, and every ``sluice``
module the reference app imports, read from its source so a new import is documented too.

A name that is also a submodule's (``sluice.cdk.synth``, the function, imported over the
module ``sluice/cdk/synth.py``) reads as the module to a static reader, so it is rendered
from where it is defined (``sluice.cdk.synth.synth``), and found in the inventory there.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import griffe

from release.api import PUBLIC_MODULES

# Every module whose `__all__` is the public API (docs/versioning.md), and with them what
# the reference app imports besides.
FRONT_DOORS = PUBLIC_MODULES
# The reference app's code: every `from sluice... import` in it is a documented package.
APP_CODE = ("app.py", "events", "producers", "workers", "infra", "demo")


@dataclass(frozen=True)
class PublicName:
    """One public name of a package, and the path its entry is rendered under."""

    module: str
    name: str
    anchor: str

    @property
    def shadowed(self) -> bool:
        """True when a submodule of the same name hides it from a static reader."""
        return self.anchor != f"{self.module}.{self.name}"


def app_imports(root: Path, code: Iterable[str] = APP_CODE) -> set[str]:
    """Every ``sluice`` module the app's code imports (``from sluice.x import y``,
    ``import sluice.x``)."""
    found: set[str] = set()
    for entry in code:
        path = root / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                found.update(n for n in names if n == "sluice" or n.startswith("sluice."))
    return found


def documented_modules(root: Path) -> list[str]:
    """The packages the API reference has a page for, parents before their children."""
    return sorted({*FRONT_DOORS, *app_imports(root)}, key=lambda m: m.split("."))


def source_object(path: str, search_paths: Iterable[Path] = ()) -> griffe.Object:
    """The object at dotted ``path`` as griffe reads it from the source (not imported)."""
    top, _, rest = path.partition(".")
    found = _package(top, tuple(str(p) for p in search_paths))
    return found[rest] if rest else found


@functools.cache
def _package(name: str, search_paths: tuple[str, ...]) -> griffe.Module:
    """A whole top-level package, read once per build (each read parses every module)."""
    loaded = griffe.GriffeLoader(search_paths=list(search_paths)).load(name)
    assert isinstance(loaded, griffe.Module)
    return loaded


def forget_sources() -> None:
    """Drop the packages read so far, so the next read sees the files as they are now."""
    _package.cache_clear()


def public_names(module: str, search_paths: Iterable[Path] = ()) -> list[PublicName]:
    """``module.__all__``, or the public names it defines (no imports, no submodules)."""
    loaded = source_object(module, search_paths)
    assert isinstance(loaded, griffe.Module)
    if loaded.exports is None:
        names = [
            name
            for name, member in loaded.members.items()
            if member.is_public and not member.is_alias and not member.is_module
        ]
    else:
        names = [str(name) for name in loaded.exports]
    return [PublicName(module, name, _anchor(loaded, module, name)) for name in names]


def _anchor(loaded: griffe.Module, module: str, name: str) -> str:
    """``module.name``, or ``module.name.name`` when the package imports ``name`` from its
    submodule of the same name (the import wins at run time; a static reader sees the
    module)."""
    member = loaded.members.get(name)
    if member is not None and member.is_module and name in member.members:
        return f"{module}.{name}.{name}"
    return f"{module}.{name}"


def page(module: str, names: list[PublicName]) -> str:
    """The Markdown of one package's page: mkdocstrings renders the module and its names."""
    plain = [n.name for n in names if not n.shadowed]
    members = "[" + ", ".join(plain) + "]" if plain else "false"
    lines = [
        f"# `{module}`",
        "",
        f"::: {module}",
        "    options:",
        "      show_root_heading: false",
        "      show_root_toc_entry: false",
        f"      members: {members}",
        "",
    ]
    for name in (n for n in names if n.shadowed):
        lines += [
            f"::: {name.anchor}",
            "    options:",
            "      show_root_heading: true",
            "      show_root_full_path: true",
            "",
        ]
    return "\n".join(lines)


def index(modules: dict[str, list[PublicName]]) -> str:
    """The API reference's first page: each package and its public names, linked."""
    lines = [
        "# API reference",
        "",
        "Every public name of the packages a team imports, generated from the code at build "
        "time: a package's `__all__` when it has one, else the names it defines without a "
        "leading `_`. The build fails when one of them is missing from these pages.",
        "",
    ]
    for module, names in modules.items():
        lines += [f"## [`{module}`]({module}.md)", ""]
        listed = ", ".join(f"[`{n.name}`][{n.anchor}]" for n in names)
        lines += [listed or "Its docstring; it exports no names of its own.", ""]
    return "\n".join(lines)
