"""``sluice new DIR``: lay out a new app in the reference app's shape, ready to run.

Files come from ``template/`` (every project) and one variant folder over it: ``example/``
(one event type, one table whose stream is relayed to the topic, one SNS-fed worker, one
worker that batch-processes the stream directly, a demo and their tests) or ``bare/`` (no
domain: an empty catalog, placeholders, tests read from the declaration). ``{{name}}``-style
fields are filled in and the ``.tmpl`` suffix is dropped; a variant's ``_NAME.md`` files
are not written but fill the ``{{NAME}}`` field (``_README-overview.md`` -> ``{{overview}}``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sluice import DISTRIBUTION
from sluice.runtime import ConfigurationError

SUFFIX = ".tmpl"
RENAMED = {"gitignore": ".gitignore", "dockerignore": ".dockerignore"}
CDK_CLI = "2.1148.1"
"""The CDK CLI that reads the pinned aws-cdk-lib's cloud assembly (3.x cannot)."""
_FIELD = re.compile(r"\{\{(\w+)\}\}")
_FRAGMENT = re.compile(r"^_(?:README-)?(\w+)\.md$")
EXAMPLE, BARE = "example", "bare"
"""The variants: a worked example to learn from and replace, or no domain at all."""
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
EXTRAS = "tools,infra,dev"
"""What a project installs Sluice with: the CLI and sandbox, the CDK constructs, the test tools."""


@dataclass(frozen=True)
class Project:
    """What a new project is called and where it gets Sluice from."""

    name: str
    sluice_requirement: str

    @property
    def prefix(self) -> str:
        """The prefix of every physical name (tables, queues, functions)."""
        return self.name

    def fields(self) -> dict[str, str]:
        """Every ``{{field}}`` a template may use."""
        return {
            "name": self.name,
            "prefix": self.prefix,
            "sluice_requirement": self.sluice_requirement,
            "cdk_cli_version": CDK_CLI,
        }


def project_name(folder: Path) -> str:
    """The folder's name as a project name, or a sentence saying what a name must be."""
    name = folder.resolve().name.lower().replace("_", "-")
    if not _NAME.match(name):
        raise ConfigurationError(
            f"{folder.name!r} cannot name a project: use 1-30 lowercase letters, digits or "
            "'-', starting with a letter (it prefixes every table, queue and function)"
        )
    return name


def source_tree() -> Path | None:
    """The Sluice source tree this Sluice runs from, if it runs from one (not an index)."""
    source = Path(__file__).resolve().parents[2]
    pyproject = source / "pyproject.toml"
    if pyproject.is_file():
        with pyproject.open("rb") as handle:
            if tomllib.load(handle).get("project", {}).get("name") == DISTRIBUTION:
                return source
    return None


def default_requirement() -> str:
    """How the new project depends on this Sluice: its source tree if it has one, else its
    released version."""
    source = source_tree()
    if source is not None:
        return f"{DISTRIBUTION}[{EXTRAS}] @ {source.as_uri()}"
    try:
        return f"{DISTRIBUTION}[{EXTRAS}]=={version(DISTRIBUTION)}"
    except PackageNotFoundError:
        return f"{DISTRIBUTION}[{EXTRAS}]"


def create(
    folder: Path, *, requirement: str | None = None, force: bool = False, bare: bool = False
) -> list[Path]:
    """Write a new project into ``folder`` and return the files written, in order.

    ``bare`` leaves the example domain out: the project declares no events, tables or
    workers, and its make test/lint/synth pass as it is.
    """
    if folder.exists() and any(folder.iterdir()) and not force:
        raise ConfigurationError(
            f"{folder} exists and is not empty: choose a new folder (or --force to write into it)"
        )
    project = Project(project_name(folder), requirement or default_requirement())
    root = resources.files(__package__)
    variant = root.joinpath(BARE if bare else EXAMPLE)
    fields = project.fields()
    fields |= {
        name: _FIELD.sub(lambda m: fields[m.group(1)], text) for name, text in _fragments(variant)
    }
    written: list[Path] = []
    for source, relative in [*_templates(root.joinpath("template")), *_templates(variant)]:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = _FIELD.sub(lambda m: fields[m.group(1)], source.read_text())
        target.write_text(text)
        written.append(target)
    for name in LOCKS:
        written.append(folder / name)
        written[-1].write_bytes(root.joinpath("locks", name).read_bytes())
    return written


LOCKS = ("requirements.lock", "requirements-build.lock")
"""What Sluice's own tests were verified with: a new project installs exactly that. They ship
in ``locks/`` (links to the source tree's own, which the wheel holds as files), so a project
made from an installed Sluice gets them as much as one made from a clone."""


def _fragments(variant: Any) -> list[tuple[str, str]]:
    """A variant's ``_NAME.md`` files: the text of each ``{{NAME}}`` field it fills."""
    return [
        (found.group(1), entry.read_text())
        for entry in variant.iterdir()
        if (found := _FRAGMENT.match(entry.name))
    ]


def _templates(root: Any, prefix: Path = Path()) -> list[tuple[Any, Path]]:
    """Every template file under ``root`` with the path it is written to."""
    found: list[tuple[Any, Path]] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if entry.name != "__pycache__":
                found += _templates(entry, prefix / entry.name)
        elif entry.name.endswith(SUFFIX):
            name = entry.name.removesuffix(SUFFIX)
            found.append((entry, prefix / RENAMED.get(name, name)))
    return found
