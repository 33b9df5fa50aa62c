"""Cold-start proxies: how long a fresh interpreter takes to import a worker module."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The child times its own imports, so interpreter startup (equal on both sides) is left out.
PROBE = "import time\nstarted = time.perf_counter()\n{code}\nprint(time.perf_counter() - started)"
ENV = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class Probe:
    """Seconds spent in ``code`` (as the child measured it) and in the whole process."""

    code: str

    def run(self) -> tuple[float, float]:
        """One fresh process: (code seconds, whole process seconds)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_"))}
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", PROBE.format(code=self.code)],
            cwd=ROOT,
            env={**env, **ENV},
            capture_output=True,
            text=True,
            check=False,
        )
        whole = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{self.code!r} failed in a fresh process: {done.stderr[-500:]}")
        return float(done.stdout.strip().splitlines()[-1]), whole


def interleaved_probes(probes: list[Probe], repeat: int) -> list[list[tuple[float, float]]]:
    """Each probe ``repeat`` times, taking turns so drift in load hits all alike."""
    samples: list[list[tuple[float, float]]] = [[] for _ in probes]
    for _ in range(repeat):
        for probe, taken in zip(probes, samples, strict=True):
            taken.append(probe.run())
    return samples
