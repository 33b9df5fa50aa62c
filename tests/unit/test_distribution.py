"""The distribution: its name on the index, its one version, and what ``sluice new`` writes.

``sluice`` on the index is someone else's package, so Sluice ships as ``sluice-aws``; the
import package and the command stay ``sluice``. The version is written once, in
pyproject.toml, and read from the installed metadata.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from hashlib import sha256
from pathlib import Path

import pytest

import sluice
from release.manifest import manifest
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


def test_the_release_manifest_lists_each_file_with_its_size_and_sha256(tmp_path: Path) -> None:
    (tmp_path / "sluice_aws-9.9.9-py3-none-any.whl").write_bytes(b"wheel")
    (tmp_path / "sluice_aws-9.9.9.tar.gz").write_bytes(b"sdist!")
    (tmp_path / "notes.txt").write_text("not uploaded")
    wheel, sdist = sha256(b"wheel").hexdigest(), sha256(b"sdist!").hexdigest()
    assert manifest(tmp_path) == [
        f"sluice_aws-9.9.9-py3-none-any.whl           5 bytes  sha256:{wheel}",
        f"sluice_aws-9.9.9.tar.gz                     6 bytes  sha256:{sdist}",
    ]


def test_the_changelog_has_a_section_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog\n")
    assert "## [Unreleased]" in changelog
    assert f"\n## [{PYPROJECT['version']}]" in changelog
