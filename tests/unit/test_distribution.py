"""The distribution: its name on the index, its one version, and what ``sluice new`` writes.

``sluice`` on the index is someone else's package, so Sluice ships as ``sluice-aws``; the
import package and the command stay ``sluice``. The version is written once, in
pyproject.toml, and read from the installed metadata.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import sluice
from sluice import scaffold

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_distribution_is_named_sluice_aws_and_says_so_to_its_extras() -> None:
    assert PYPROJECT["name"] == sluice.DISTRIBUTION == "sluice-aws"
    # the dev extra pulls the tools extra of this same distribution, not of another one
    assert "sluice-aws[tools]" in PYPROJECT["optional-dependencies"]["dev"]


def test_sluice_version_prints_the_pyproject_version_on_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sluice.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"sluice-aws {PYPROJECT['version']}\n"
    assert sluice.__version__ == PYPROJECT["version"]


def test_the_source_tree_is_recognised_by_its_distribution_name() -> None:
    # GIVEN this checkout, THEN `sluice new` from it depends on it by a file:// requirement
    assert scaffold.source_tree() == ROOT
    assert scaffold.default_requirement() == f"sluice-aws[tools,infra,dev] @ {ROOT.as_uri()}"


def test_a_project_made_by_an_installed_sluice_depends_on_its_version_and_gets_its_locks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a Sluice that runs from an install, not from a source tree
    monkeypatch.setattr(scaffold, "source_tree", lambda: None)
    # WHEN it makes a project
    scaffold.create(tmp_path / "acme")
    # THEN the project depends on this version of sluice-aws, with the locks it was verified with
    project = tomllib.loads((tmp_path / "acme" / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == [f"sluice-aws[tools,infra,dev]=={PYPROJECT['version']}"]
    for name in ("requirements.lock", "requirements-build.lock"):
        assert (tmp_path / "acme" / name).read_bytes() == (ROOT / name).read_bytes()
