"""The engine's thread pools in a process forked after a batch (mutmut, multiprocessing)."""

from __future__ import annotations

import os
import signal
import threading
from types import SimpleNamespace

from sluice.runtime.engine import ordering

THREADS = 4


def _all_at_once() -> list[int]:
    """Run THREADS items that each wait for all the others: only THREADS live threads can."""
    spec = SimpleNamespace(name="forked", max_concurrency=THREADS)
    barrier = threading.Barrier(THREADS, timeout=5)
    done: list[int] = []

    def meet(item: int) -> None:
        barrier.wait()
        done.append(item)

    ordering._run_all(spec, meet, range(THREADS))  # type: ignore[arg-type]
    return sorted(done)


def test_a_forked_child_runs_its_records_on_threads_of_its_own() -> None:
    # GIVEN the parent ran a batch on every thread of a worker's pool
    assert _all_at_once() == list(range(THREADS))
    # WHEN a forked child runs a batch of the same worker
    pid = os.fork()
    if pid == 0:  # the child reports through its exit status
        signal.alarm(10)  # a child stuck on its parent's dead threads dies of SIGALRM
        os._exit(0 if _all_at_once() == list(range(THREADS)) else 1)
    # THEN it finishes, instead of waiting for ever on threads that did not survive the fork
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
