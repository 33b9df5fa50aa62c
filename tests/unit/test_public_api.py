"""The public API is declared (``__all__`` of the public modules) and guarded (``make lint``).

The reference app and every project ``sluice new`` writes use Sluice as a team would, so
each name they import must be public. The guard (release/api.py) compares the code with
release/api.json, the API of the last release, and refuses a break without a major bump.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from release import api
from sluice.scaffold import Project

ROOT = Path(__file__).resolve().parents[2]
APP = ("app.py", "events", "producers", "workers", "infra", "demo")


def _sluice_imports(name: str, source: str) -> Iterator[tuple[str, str, str]]:
    """``(where, module, name)`` for each ``from sluice... import name`` (``import sluice.x``
    gives the name ``*``)."""
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sluice":
            for alias in node.names:
                yield f"{name}:{node.lineno}", node.module or "", alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sluice":
                    yield f"{name}:{node.lineno}", alias.name, "*"


def _app_sources() -> Iterator[tuple[str, str]]:
    for entry in APP:
        path = ROOT / entry
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            yield str(file.relative_to(ROOT)), file.read_text()


def _scaffold_sources() -> Iterator[tuple[str, str]]:
    fields = Project("acme", "sluice-aws").fields()
    for file in sorted((ROOT / "sluice" / "scaffold").rglob("*.py.tmpl")):
        text = re.sub(r"\{\{(\w+)\}\}", lambda m: fields.get(m.group(1), "x"), file.read_text())
        yield str(file.relative_to(ROOT)), text


def _not_public(sources: Iterator[tuple[str, str]]) -> list[str]:
    exported = api.public_names()
    return [
        f"{where}: {module}.{name}"
        for path, text in sources
        for where, module, name in _sluice_imports(path, text)
        if module not in exported or name not in exported[module]
    ]


def test_the_reference_app_imports_only_public_names() -> None:
    assert list(_app_sources()), "no app source found"
    assert _not_public(_app_sources()) == []


def test_a_new_project_imports_only_public_names() -> None:
    assert _not_public(_scaffold_sources()) == []


def test_an_import_of_a_private_module_is_reported() -> None:
    # the check itself: an import from a module outside PUBLIC_MODULES, or of a name missing
    # from a public module's __all__, is named with where it is
    source = "from sluice.local.sandbox import Sandbox\nfrom sluice.runtime import records\n"
    assert _not_public(iter([("workers/x.py", source)])) == [
        "workers/x.py:1: sluice.local.sandbox.Sandbox",
        "workers/x.py:2: sluice.runtime.records",
    ]


def test_every_public_name_is_defined() -> None:
    for module, names in api.public_names().items():
        imported = importlib.import_module(module)
        assert names == sorted(set(names), key=names.index), f"{module}.__all__ repeats a name"
        for name in names:
            assert hasattr(imported, name), f"{module}.__all__ names {name}, which is not there"


@pytest.mark.parametrize(
    ("then", "now", "breaking_allowed"),
    [
        ("0.1.0", "0.1.5", False),
        ("0.1.0", "0.2.0", True),
        ("0.9.3", "1.0.0", True),
        ("1.0.0", "1.4.0", False),
        ("1.4.0", "2.0.0", True),
    ],
)
def test_a_major_bump_is_the_major_or_for_0x_the_minor(
    then: str, now: str, breaking_allowed: bool
) -> None:
    assert (api.compatible_line(now) > api.compatible_line(then)) is breaking_allowed


def test_the_code_keeps_the_api_of_the_snapshot() -> None:
    status, report = api.check()
    assert status == 0, report


def test_make_lint_checks_the_public_api() -> None:
    plan = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "lint"], capture_output=True, text=True, check=True
    ).stdout
    assert "-m release.api check" in plan


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The framework, the guard, its snapshot and pyproject.toml, to break on purpose."""
    for folder in ("sluice", "release"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__py*"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _check(copy: Path) -> subprocess.CompletedProcess[str]:
    """``python -m release.api check`` on the copy (which Python imports, not this tree)."""
    return subprocess.run(
        [sys.executable, "-m", "release.api", "check"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def _remove_stream_event(copy: Path) -> None:
    testing = copy / "sluice" / "testing.py"
    _edit(testing, '    "stream_event",\n', "")
    _edit(testing, "def stream_event(", "def _stream_event(")


def test_removing_a_public_function_fails_the_check_and_names_it(copy: Path) -> None:
    # GIVEN the copy passes
    assert _check(copy).returncode == 0
    # WHEN a public function is removed (out of __all__ and renamed private)
    _remove_stream_event(copy)
    done = _check(copy)
    # THEN the check fails and names it
    assert done.returncode == 1, done.stdout + done.stderr
    assert "sluice.testing.stream_event: Public object was removed" in done.stderr
    assert "0.1.0 is no major bump" in done.stderr


def test_an_incompatible_signature_fails_the_check_and_names_the_parameter(copy: Path) -> None:
    # WHEN a keyword of a public function is removed, and a required one added
    _edit(
        copy / "sluice" / "app.py",
        "def load_app(start: Path | None = None)",
        "def load_app(begin: Path | None = None, *, strict: bool)",
    )
    done = _check(copy)
    # THEN each change is named
    assert done.returncode == 1, done.stdout + done.stderr
    assert "sluice.app.load_app(start): Parameter was removed" in done.stderr
    assert "sluice.app.load_app(strict): Parameter was added as required" in done.stderr


def test_a_major_bump_lets_the_break_through_and_lists_it(copy: Path) -> None:
    # GIVEN a public function removed
    _remove_stream_event(copy)
    # WHEN the version is bumped past the snapshot's compatible line (0.1 -> 0.2)
    _edit(copy / "pyproject.toml", 'version = "0.1.0"', 'version = "0.2.0"')
    done = _check(copy)
    # THEN the check passes, and still says what broke
    assert done.returncode == 0, done.stdout + done.stderr
    assert "allowed by the major bump to 0.2.0" in done.stdout
    assert "sluice.testing.stream_event: Public object was removed" in done.stdout
