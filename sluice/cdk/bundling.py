"""The Lambda code asset and the dependencies layer, both built without docker.

The code asset is a staged copy of exactly the packages in ``defaults.SHIPPED``: infra, the
sandbox, the operator tools and the CLI never reach a function. The layer is built by
``pip install --platform manylinux2014_aarch64 --only-binary=:all:`` on this machine
(CDK local bundling) and cached under ``.cache/infra/layer`` by a hash of the
requirements, so only the first synth after a requirements change talks to PyPI.

boto3 and botocore are not in the layer: the Python 3.12 runtime provides them, AWS
patches them, and the APIs Sluice calls (SQS, SNS, DynamoDB batch and transaction calls)
are years older than the runtime's copy. Leaving them out keeps the layer about 30 MB
(unzipped) smaller, so a cold start fetches and unpacks less. Pin them in
``infra/layer/requirements.txt`` if a newer API is ever needed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra import defaults

LAYER_SOURCE = Path(__file__).parent / "layer"
REQUIREMENTS = LAYER_SOURCE / "requirements.txt"


def shipped_files(root: Path) -> list[Path]:
    """Every file the code asset holds, relative to ``root``, in a stable order."""
    found: list[Path] = []
    for entry in defaults.SHIPPED:
        path = root / entry
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            relative = file.relative_to(root)
            if "__pycache__" in relative.parts or file.suffix == ".pyc":
                continue
            if any(relative.is_relative_to(skip) for skip in defaults.NOT_SHIPPED):
                continue
            found.append(relative)
    return found


def stage_code(root: Path, cache: Path) -> Path:
    """Copy the shipped files into ``cache/<content hash>`` once, and return that folder."""
    files = shipped_files(root)
    digest = hashlib.sha256()
    for relative in files:
        digest.update(str(relative).encode() + b"\0" + (root / relative).read_bytes())
    target = cache / digest.hexdigest()[:20]
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache, prefix=".staging-"))
    for relative in files:
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, staging / relative)
    _publish(staging, target)
    _prune(cache, keep=target)
    return target


def code_asset(root: Path) -> lambda_.Code:
    """The one code asset every function runs from."""
    return lambda_.Code.from_asset(str(stage_code(root, root / ".cache" / "infra" / "code")))


def pip_arguments(target: str, requirements: str) -> list[str]:
    """``pip install`` for the Lambda platform, wheels only (no compiler, no docker)."""
    return [
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--platform",
        defaults.PIP_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        defaults.PYTHON_VERSION,
        "--only-binary=:all:",
        "--requirement",
        requirements,
        "--target",
        target,
    ]


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Local bundling for the layer: pip on this machine, cached by the requirements' hash."""

    def __init__(self, requirements: Path, cache: Path, pip_cache: Path) -> None:
        self.requirements = requirements
        self.cache = cache
        self.pip_cache = pip_cache

    @property
    def key(self) -> str:
        """What the built layer depends on: the requirements, the platform, the Python."""
        digest = hashlib.sha256(self.requirements.read_bytes())
        digest.update(f"{defaults.PIP_PLATFORM}/{defaults.PYTHON_VERSION}".encode())
        return digest.hexdigest()[:20]

    def build(self) -> Path:
        """The built layer folder (it holds ``python/``), from the cache when it is there."""
        target = self.cache / self.key
        if target.is_dir():
            return target
        self.cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.cache, prefix=".staging-"))
        command = [
            sys.executable,
            "-m",
            "pip",
            *pip_arguments(str(staging / "python"), str(self.requirements)),
            "--cache-dir",
            str(self.pip_cache),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise RuntimeError(
                f"building the Lambda layer failed (pip needs PyPI once per requirements "
                f"change; later synths reuse {self.cache}): {done.stderr.strip()}"
            )
        shutil.rmtree(staging / "python" / "bin", ignore_errors=True)
        _publish(staging, target)
        return target

    def try_bundle(self, output_dir: str, *, image: Any, **_options: Any) -> bool:
        """Copy the built layer into CDK's asset folder; True means docker is not needed."""
        shutil.copytree(self.build(), output_dir, dirs_exist_ok=True)
        return True


def dependencies_code(root: Path) -> lambda_.Code:
    """The layer's code: requirements in, ``python/`` out, by local bundling."""
    cache = root / ".cache"
    local = PipLayerBundling(REQUIREMENTS, cache / "infra" / "layer", cache / "pip")
    docker_fallback = " ".join(
        ["pip", *pip_arguments("/asset-output/python", "/asset-input/requirements.txt")]
    )
    return lambda_.Code.from_asset(
        str(LAYER_SOURCE),
        bundling=BundlingOptions(
            image=defaults.RUNTIME.bundling_image,
            command=["bash", "-c", docker_fallback],
            local=local,
        ),
    )


def _prune(cache: Path, keep: Path, older_than_s: float = 3600) -> None:
    """Drop staged copies of older code (not touched for an hour: no synth still reads them)."""
    cutoff = time.time() - older_than_s
    for entry in cache.iterdir():
        if entry != keep and entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)


def _publish(staging: Path, target: Path) -> None:
    """Move a finished build into place atomically; a concurrent twin may have won."""
    try:
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
