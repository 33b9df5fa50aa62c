"""The layers hold: the import-linter contracts in pyproject.toml pass, and each one bites.

The contracts run here exactly as `make lint` runs them. To show that a contract is not
vacuous, each is also run on a copy of ``sluice/`` with one violation planted in it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """lint-imports in ``cwd`` (whose ``sluice`` package it analyses), as `make lint` runs it."""
    limit = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *limit],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _contract_ids() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [c["id"] for c in config["tool"]["importlinter"]["contracts"]]


def test_every_contract_is_kept() -> None:
    # GIVEN the project as it is / WHEN the contracts run
    done = _lint(ROOT)

    # THEN every one of them is kept
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


# One violation per contract: (contract id, file under sluice/, line appended to it).
VIOLATIONS = {
    "framework-layers": ("core/errors.py", "import sluice.runtime.errors"),
    "core-stdlib": ("core/schema.py", "import botocore"),
    "lambda-code": ("runtime/errors.py", "import rich"),
    "no-app": ("topology.py", "import workers"),
    # An import inside a function, the usual way to dodge a cycle, is caught all the same.
    "runtime-layers": ("runtime/engine/batch.py", "def _late():\n    import sluice.runtime.worker"),
    "engine-layers": ("runtime/engine/jobs.py", "from sluice.runtime.engine import settling"),
}


def test_each_contract_has_a_planted_violation() -> None:
    assert sorted(VIOLATIONS) == sorted(_contract_ids())


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the framework and its lint configuration, to break on purpose."""
    shutil.copytree(ROOT / "sluice", tmp_path / "sluice", ignore=shutil.ignore_patterns("__py*"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_violation_breaks_its_contract(copy: Path, contract: str) -> None:
    # GIVEN the copy is clean for this contract
    assert _lint(copy, contract).returncode == 0

    # WHEN one forbidden import is added
    where, line = VIOLATIONS[contract]
    target = copy / "sluice" / where
    target.write_text(target.read_text() + f"\n{line}\n")
    done = _lint(copy, contract)

    # THEN the contract is broken, and the report names the offending module
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout
    module = "sluice." + where.removesuffix(".py").replace("/", ".")
    assert module in done.stdout


def test_a_module_outside_every_layer_is_refused(copy: Path) -> None:
    # GIVEN a new top-level module of sluice that no layer lists
    (copy / "sluice" / "newcomer.py").write_text('"""Placed nowhere."""\n')

    # WHEN the framework layers are checked
    done = _lint(copy, "framework-layers")

    # THEN it must be placed before the contract passes
    assert done.returncode == 1
    assert "sluice.newcomer" in done.stdout + done.stderr
