"""The health signal: a file whose modification time says the runner is still polling.

The runner touches it after every receive (long polls last at most 20 s). The task's
health check runs ``python -m sluice.container.health PATH MAX_AGE_S``, which exits 1 if
the file is missing or older than ``MAX_AGE_S``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

DEFAULT_PATH = Path("/tmp/sluice-work.alive")
DEFAULT_MAX_AGE_S = 60


class HealthFile:
    """Touched by the runner; ``fresh`` is what the health check asks."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def beat(self) -> None:
        """Say "still polling"."""
        if self.path is not None:
            self.path.touch()

    def fresh(self, max_age_s: float) -> bool:
        """True if the runner polled within ``max_age_s``."""
        if self.path is None or not self.path.exists():
            return False
        return time.time() - self.path.stat().st_mtime <= max_age_s


def main(argv: list[str]) -> int:
    """``python -m sluice.container.health [PATH] [MAX_AGE_S]``: 0 healthy, 1 not."""
    path = Path(argv[0]) if argv else DEFAULT_PATH
    max_age = float(argv[1]) if len(argv) > 1 else DEFAULT_MAX_AGE_S
    return 0 if HealthFile(path).fresh(max_age) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
