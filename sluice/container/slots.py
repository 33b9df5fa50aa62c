"""Places for records in flight, taken a receive's worth at a time.

``sluice work``'s receivers share ``concurrency`` places. A receiver waits for at least one
free place and takes as many as are free, up to a receive's worth; a batch gives its places
back all at once and wakes one receiver. A semaphore, released once per record, woke a
receiver per record for one batch's worth of places (bench/bench_work.py measured it at a
tenth of the runner's CPU).
"""

from __future__ import annotations

import threading


class Slots:
    """``total`` places; thread-safe."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self._changed = threading.Condition(threading.Lock())

    def take(self, most: int, timeout: float) -> int:
        """Wait up to ``timeout`` s for a free place; take up to ``most``; how many taken."""
        with self._changed:
            if not self.free and not self._changed.wait_for(lambda: self.free > 0, timeout):
                return 0
            taken = min(most, self.free)
            self.free -= taken
            if self.free:  # more than this receiver wants: the next one may take them
                self._changed.notify()
            return taken

    def give(self, count: int) -> None:
        """Give back ``count`` places (never more than were taken)."""
        if count <= 0:
            return
        with self._changed:
            if self.free + count > self.total:
                raise ValueError(f"{count} places given back, {self.total - self.free} taken")
            self.free += count
            self._changed.notify()
