"""What a release would upload, as a user meets it: the wheel installed with no source tree.

``make release-check`` builds dist/ (the sdist, and the wheel from it), then runs these with
``SLUICE_DIST`` naming that folder, so they check exactly the files that would be uploaded.
Without it they are skipped: the install and the project's own make test and make synth take
minutes, which ``make test`` does not spend on every run (CI runs ``make release-check``).

The user's path: a fresh venv gets this repository's locked dependencies (hashes checked, from
requirements.lock; nothing of the tree is copied), then the wheel with ``--no-deps``. From a
folder outside the tree, its ``sluice new`` makes a project that depends on ``sluice-aws`` by
version, and the project's own install step, make test and make synth run on that venv, with
the wheel's folder as the place pip finds ``sluice-aws`` (it is not on the index yet).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.projects import ROOT, Sluice, created, passes

pytestmark = [
    pytest.mark.skipif(
        "SLUICE_DIST" not in os.environ,
        reason="run by make release-check, which builds dist/ first (SLUICE_DIST=dist)",
    ),
    # a venv from the whole lock (about 2 min), then the project's make test and make synth
    pytest.mark.timeout(1800),
]

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
LOCKS = ("requirements.lock", "requirements-build.lock")


@pytest.fixture(scope="module")
def dist() -> Path:
    return Path(os.environ["SLUICE_DIST"]).resolve()


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    found = sorted(dist.glob("*.whl"))
    assert [w.name for w in found] == [f"sluice_aws-{VERSION}-py3-none-any.whl"]
    return found[0]


def _package_files() -> set[str]:
    """Every file of the ``sluice`` package in this repository (git's list: no caches)."""
    listed = subprocess.run(
        ["git", "ls-files", "sluice"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert listed, "git lists no file under sluice/"
    return set(listed)


def test_the_wheel_ships_every_file_of_the_package_and_the_locks_as_files(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith("sluice/")}
        # package data as well as code: the templates, py.typed, the layer's pins, the skips
        assert _package_files() == shipped
        for data in (
            "sluice/py.typed",
            "sluice/cdk/layer/requirements.txt",
            "sluice/cdk/rule_skips.toml",
            "sluice/scaffold/template/Makefile.tmpl",
        ):
            assert data in shipped
        # the locks are links in the tree; the wheel holds what they point at
        for lock in LOCKS:
            assert archive.read(f"sluice/scaffold/locks/{lock}") == (ROOT / lock).read_bytes()


def test_the_sdist_holds_the_package_the_readme_and_pyproject(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    top = f"sluice_aws-{VERSION}"
    with tarfile.open(sdist) as archive:
        names = {m.name.removeprefix(f"{top}/") for m in archive.getmembers() if m.isfile()}
    assert {"pyproject.toml", "README.md", "PKG-INFO", "LICENSE"} <= names
    assert not [n for n in names if n.endswith(".pyc")], "a test run's bytecode was packed"
    assert _package_files() <= names


def test_the_wheel_metadata_is_sluice_aws_with_its_extras_and_command(wheel: Path) -> None:
    info = f"sluice_aws-{VERSION}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        license_text = archive.read(f"{info}/licenses/LICENSE").decode()
    assert "Name: sluice-aws\n" in metadata and f"Version: {VERSION}\n" in metadata
    assert "License-Expression: Apache-2.0\n" in metadata and "License-File: LICENSE\n" in metadata
    assert license_text == (ROOT / "LICENSE").read_text()
    for extra in ("tools", "infra", "dev"):
        assert f"Provides-Extra: {extra}\n" in metadata
    assert "sluice = sluice.cli:main" in entry_points


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Sluice:
    """A fresh venv outside the tree: the locked dependencies, then the wheel alone."""
    home = tmp_path_factory.mktemp("user")
    venv = home / "venv"
    env = _user_env(venv, wheel.parent)
    run = lambda *args: _run(list(args), cwd=home, env=env)  # noqa: E731
    run("python3", "-m", "venv", str(venv))
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    run(*pip, "install", "-q", "--require-hashes", "--no-deps", "-r", str(ROOT / LOCKS[0]))
    run(*pip, "install", "-q", "--no-deps", str(wheel))
    run(*pip, "check")
    return Sluice(venv=venv, env=env, reuse=False)


def _user_env(venv: Path, wheels: Path) -> dict[str, str]:
    """The environment of a user's shell: nothing pointing into this tree or its venv, the
    new venv first on PATH, and the wheel's folder where pip finds ``sluice-aws``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "MYPYPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env["PIP_FIND_LINKS"] = " ".join(filter(None, [str(wheels), env.get("PIP_FIND_LINKS")]))
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def test_the_installed_wheel_runs_from_its_install_not_from_this_tree(installed: Sluice) -> None:
    home = installed.venv.parent
    where = _run(
        [
            str(installed.python),
            "-c",
            "import sluice, sluice.scaffold as s; print(sluice.__file__); print(s.source_tree())",
        ],
        cwd=home,
        env=dict(installed.env),
    ).split()
    assert Path(where[0]).is_relative_to(installed.venv), where
    assert where[1] == "None"
    version = _run(["sluice", "--version"], cwd=home, env=dict(installed.env))
    assert version == f"sluice-aws {VERSION}\n"


def test_a_project_made_by_the_wheel_depends_on_it_by_version_and_passes_test_and_synth(
    installed: Sluice,
) -> None:
    # GIVEN a project made by the installed wheel's `sluice new`, outside this tree
    project = created(installed.venv.parent / "acme", sluice=installed)
    # THEN it depends on sluice-aws by version, and holds the locks this release was tested with
    declared = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert declared["dependencies"] == [f"sluice-aws[tools,infra,dev]=={VERSION}"]
    for lock in LOCKS:
        digest = hashlib.sha256((project / lock).read_bytes()).hexdigest()
        assert digest == hashlib.sha256((ROOT / lock).read_bytes()).hexdigest(), lock
    # WHEN its own install step, make test and make synth run on that venv
    tested = passes(project, "test", "synth", sluice=installed)
    # THEN it installed itself on that venv (its sluice-aws requirement met by the wheel),
    # its tests pass, and the template is synthesized
    assert "--no-build-isolation -e ." in tested.stdout
    assert " passed" in tested.stdout
    assert (project / "cdk.out" / "Acme.template.json").is_file()
