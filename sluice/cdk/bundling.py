"""The Lambda code asset and the dependencies layer, both built without docker.

The code asset is a staged copy of the app's packages (``App.code``, under ``App.root``)
and exactly the framework pieces a function imports (``defaults.FRAMEWORK_SHIPPED``): the
constructs, the sandbox, the operator tools and the CLI never reach a function, and
neither do ``samples/`` folders. The layer is built by ``pip install --no-deps --platform
manylinux2014_aarch64 --platform manylinux_2_28_aarch64 --only-binary=:all:`` on this machine
(CDK local bundling) and cached under ``<app root>/.cache/infra/layer`` by a hash of the
requirements, so only the first synth after a requirements change talks to the index.

boto3 and botocore are not in the layer: the Python 3.12 runtime provides them, AWS
patches them, and the APIs Sluice calls (SQS, SNS, DynamoDB batch and transaction calls)
are years older than the runtime's copy. Leaving them out keeps the layer about 30 MB
(unzipped) smaller, so a cold start fetches and unpacks less. Pin them in
``sluice/cdk/layer/requirements.txt`` if a newer API is ever needed.
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

import sluice
from sluice.app import App
from sluice.cdk import defaults

LAYER_SOURCE = Path(__file__).parent / "layer"
REQUIREMENTS = LAYER_SOURCE / "requirements.txt"
FRAMEWORK_ROOT = Path(sluice.__file__).resolve().parent.parent
"""The folder holding the ``sluice`` package (a checkout, or site-packages)."""


def cache_dir(app: App) -> Path:
    """Where the staged code and the built layer are kept: inside the project, never $HOME."""
    return app.root / ".cache" / "infra"


def shipped_files(app: App) -> dict[Path, Path]:
    """Every file the code asset holds: its path in the asset -> the file, in a stable order.

    The app's ``code`` entries are read under ``app.root``, the framework's pieces from
    wherever ``sluice`` is installed; both keep their paths (``workers/x.py``,
    ``sluice/runtime/engine.py``), so handlers import as they do in the project.
    """
    found: dict[Path, Path] = {}
    entries = [(app.root, entry) for entry in app.code]
    entries += [(FRAMEWORK_ROOT, entry) for entry in defaults.FRAMEWORK_SHIPPED]
    if app.api is not None:
        entries += [(FRAMEWORK_ROOT, entry) for entry in defaults.API_SHIPPED]
    for root, entry in entries:
        path = root / entry
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist: App(code=...) names the app's packages, relative to "
                f"the project root {app.root}"
            )
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            relative = file.relative_to(root)
            if file.suffix == ".pyc" or defaults.NOT_SHIPPED.intersection(relative.parts[:-1]):
                continue
            found[relative] = file
    return found


def stage_code(files: dict[Path, Path], cache: Path) -> Path:
    """Copy ``files`` into ``cache/<content hash>`` once, and return that folder."""
    digest = hashlib.sha256()
    for relative, source in files.items():
        digest.update(str(relative).encode() + b"\0" + source.read_bytes())
    target = cache / digest.hexdigest()[:20]
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache, prefix=".staging-"))
    for relative, source in files.items():
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, staging / relative)
    _publish(staging, target)
    _prune(cache, keep=target)
    return target


def code_asset(app: App) -> lambda_.Code:
    """The one code asset every function of ``app`` runs from."""
    return lambda_.Code.from_asset(str(stage_code(shipped_files(app), cache_dir(app) / "code")))


def pip_arguments(target: str, requirements: str) -> list[str]:
    """``pip install`` for the Lambda platform, wheels only (no compiler, no docker).

    ``--no-deps``: the requirements pin every transitive dependency themselves, so nothing
    unpinned (botocore, which aws-xray-sdk asks for) slips into the layer.
    """
    platforms = [arg for tag in defaults.PIP_PLATFORMS for arg in ("--platform", tag)]
    return [
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--no-deps",
        *platforms,
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
        """What the built layer depends on: the requirements, the platform, the Python.

        Comments and blank lines are left out, so documenting a pin never rebuilds the layer.
        """
        pins = [
            line.strip()
            for line in self.requirements.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        digest = hashlib.sha256("\n".join(pins).encode())
        digest.update(f"{defaults.PIP_PLATFORMS}/{defaults.PYTHON_VERSION}/no-deps".encode())
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


def dependencies_code(app: App) -> lambda_.Code:
    """The layer's code: requirements in, ``python/`` out, by local bundling."""
    cache = cache_dir(app)
    local = PipLayerBundling(REQUIREMENTS, cache / "layer", cache.parent / "pip")
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
