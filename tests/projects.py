"""A project made by ``sluice new``, as a team adopting Sluice makes one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)


@dataclass(frozen=True)
class Sluice:
    """Which installed Sluice makes a project and runs its make targets.

    By default this checkout's venv, reused as it is (``NO_INSTALL=1``): the checks cost
    seconds, not an install. A release test passes a venv that holds the built wheel, and
    lets the project's own install step run on it.
    """

    venv: Path = VENV
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    reuse: bool = True
    """Skip the project's install step (``NO_INSTALL=1``): the venv has what it needs."""

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def make_variables(self) -> list[str]:
        return [f"VENV={self.venv}", *(["NO_INSTALL=1"] if self.reuse else [])]


CHECKOUT = Sluice()


def sluice_new(project: Path, *options: str, sluice: Sluice = CHECKOUT) -> Path:
    """Run ``sluice new [OPTIONS] PROJECT`` from the project's parent folder; fail the test
    with its stderr if it refuses."""
    project.parent.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(
        [str(sluice.python), "-m", "sluice.cli", "new", *options, project.name],
        cwd=project.parent,
        capture_output=True,
        text=True,
        check=False,
        env=dict(sluice.env),
    )
    assert made.returncode == 0, made.stderr
    return project


def make(
    project: Path, target: str, timeout: float = 600, sluice: Sluice = CHECKOUT
) -> subprocess.CompletedProcess[str]:
    """``make TARGET`` in the project, on ``sluice``'s venv.

    This checkout is installed editable (an import hook mypy cannot follow), so mypy is
    pointed at its source; a project's own ``make`` installs a real copy, typed (py.typed).
    """
    return subprocess.run(
        ["make", "-C", str(project), target, *sluice.make_variables()],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**sluice.env, "MYPYPATH": str(ROOT)} if sluice is CHECKOUT else dict(sluice.env),
    )


def sluice(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The ``sluice`` command, run in the project."""
    return subprocess.run(
        [str(VENV / "bin" / "sluice"), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def created(folder: Path, *options: str, sluice: Sluice = CHECKOUT) -> Path:
    """A new project in ``folder``, with this checkout's layer cache copied in."""
    sluice_new(folder, *options, sluice=sluice)
    layer = ROOT / ".cache" / "infra" / "layer"
    if layer.is_dir():
        shutil.copytree(layer, folder / ".cache" / "infra" / "layer")
    return folder


def passes(
    project: Path, *targets: str, sluice: Sluice = CHECKOUT
) -> subprocess.CompletedProcess[str]:
    """Run each ``make TARGET`` in turn and fail the test on the first that fails; the first
    target's run (``make test``, usually), for its output."""
    runs = []
    for target in targets:
        done = make(project, target, sluice=sluice)
        assert done.returncode == 0, f"make {target}: {done.stdout}{done.stderr}"
        runs.append(done)
    first = runs[0]
    assert "failed" not in first.stdout, first.stdout
    return first


def collected(project: Path) -> str:
    """The node ids the project's own pytest collects, one a line."""
    return subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pytest", "--collect-only", "-q", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
