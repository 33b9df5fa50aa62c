"""A project made by ``sluice new``, as a team adopting Sluice makes one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)


def sluice_new(project: Path, *options: str) -> Path:
    """Run ``sluice new [OPTIONS] PROJECT``; fail the test with its stderr if it refuses."""
    made = subprocess.run(
        [sys.executable, "-m", "sluice.cli", "new", *options, str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return project


def make(project: Path, target: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``make TARGET`` in the project, on this checkout's venv.

    This checkout is installed editable (an import hook mypy cannot follow), so mypy is
    pointed at its source; a project's own ``make`` installs a real copy, typed (py.typed).
    """
    return subprocess.run(
        ["make", "-C", str(project), target, "NO_INSTALL=1", f"VENV={VENV}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "MYPYPATH": str(ROOT)},
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


def created(folder: Path, *options: str) -> Path:
    """A new project in ``folder``, with this checkout's layer cache copied in."""
    sluice_new(folder, *options)
    layer = ROOT / ".cache" / "infra" / "layer"
    if layer.is_dir():
        shutil.copytree(layer, folder / ".cache" / "infra" / "layer")
    return folder


def passes(project: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    """Run each ``make TARGET`` in turn and fail the test on the first that fails; the first
    target's run (``make test``, usually), for its output."""
    runs = []
    for target in targets:
        done = make(project, target)
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
