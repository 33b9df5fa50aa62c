"""A project made by ``sluice new``, as a team adopting Sluice makes one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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
