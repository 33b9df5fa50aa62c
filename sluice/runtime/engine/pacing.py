"""Whether a worker's records are worth a thread each: only records that wait gain from one.

Under the GIL, threads let records overlap only while they wait (a network call, a sleep).
A record that computes gains nothing from a thread and pays for the hand-off: for a
CPU-light record that hand-off cost several times the record itself (bench/bench_runtime.py).
So each worker keeps a running average of how long its records *wait*: the wall time of a
record less the CPU time its thread spent on it. While records wait less than
``WORTH_A_THREAD_S`` on average, the batch runs on the invoking thread, in order.

Only records run on the invoking thread are measured: on a pool their wall time would count
the GIL held by their neighbours as waiting. A worker that runs on threads measures the
first record of one batch in ``PROBE_EVERY`` there, so a worker whose records stop waiting
finds out; a worker that runs inline measures the first record of every batch, so one whose
records start waiting goes back to threads. A worker nothing is known of yet probes its first
batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

WORTH_A_THREAD_S = 0.001
"""A record that waits less than this on average runs inline: a hand-off costs about this."""

PROBE_EVERY = 32
"""On threads, one batch in this many runs its first record inline, to measure it."""

WEIGHT = 0.2
"""How much the newest measurement moves the average (an exponential moving average)."""

T = TypeVar("T")


@dataclass
class Pace:
    """One worker's records: how long they wait on average, and when to measure again."""

    waits_s: float | None = None
    batches: int = 0

    @property
    def threads_help(self) -> bool:
        """Records wait long enough for threads to overlap them (unknown counts as yes)."""
        return self.waits_s is None or self.waits_s >= WORTH_A_THREAD_S

    def probes(self) -> bool:
        """Whether this batch measures its first record inline (counts the batch)."""
        self.batches += 1
        return self.waits_s is None or self.batches % PROBE_EVERY == 0

    def measured(self, wall_s: float, cpu_s: float) -> None:
        """Add one record run on the invoking thread."""
        waited = max(0.0, wall_s - cpu_s)
        previous = self.waits_s
        self.waits_s = waited if previous is None else previous + WEIGHT * (waited - previous)


_paces: dict[str, Pace] = {}
_lock = threading.Lock()


def pace_of(worker: str) -> Pace:
    """The pace of ``worker``'s records in this process (kept across invocations)."""
    with _lock:
        return _paces.setdefault(worker, Pace())


def timed(pace: Pace, fn: Callable[[T], None], item: T) -> None:
    """Run ``fn(item)`` on this thread and add what it waited to ``pace``."""
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        fn(item)
    finally:
        pace.measured(time.perf_counter() - wall, time.thread_time() - cpu)
