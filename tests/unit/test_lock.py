"""The install is locked: every package the suite runs with is the one the lock pins.

Finding 1 of issue 23: nothing pinned what CI verified, so a fresh clone took whatever the
index served that day (moto 5.2.6 broke the speedups' pins).
"""

from __future__ import annotations

import re
import subprocess
from importlib.metadata import distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _pins(lock: Path) -> dict[str, str]:
    """name -> version of every requirement in a lock file, names normalized."""
    pins = {}
    for line in lock.read_text().splitlines():
        found = _PIN.match(line)
        if found:
            pins[_normal(found.group(1))] = found.group(2)
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_requirement_of_every_lock_is_pinned_with_hashes() -> None:
    for name in ("requirements.lock", "requirements-build.lock", "requirements-release.lock"):
        text = (ROOT / name).read_text()
        requirements = [line for line in text.splitlines() if line and line[0].isalnum()]
        assert requirements, f"{name} pins nothing"
        for line in requirements:
            assert _PIN.match(line), f"{name}: not pinned with ==: {line}"
        # every requirement carries at least one hash (pip's --require-hashes needs it)
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[-1])
        for block in blocks:
            if block.strip() and block[0].isalnum():
                assert "--hash=sha256:" in block, f"{name}: no hash for {block.splitlines()[0]}"


def test_the_venv_holds_exactly_the_locked_versions() -> None:
    pins = _pins(ROOT / "requirements.lock")
    installed = {_normal(d.metadata["Name"]): d.version for d in distributions()}
    assert "moto" in pins and "boto3" in pins
    differ = {
        name: (version, installed.get(name))
        for name, version in pins.items()
        if installed.get(name) != version
    }
    assert differ == {}, "run `make install`: the venv is not what requirements.lock pins"


def test_make_install_installs_from_the_locks_with_hashes_checked() -> None:
    plan = subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), "install", "VENV=/nonexistent"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--require-hashes --no-deps -r requirements.lock" in plan
    assert "--require-hashes --no-deps --upgrade --target" in plan
    assert "--no-deps --no-build-isolation -e ." in plan
