"""Threads only where records wait: the engine learns each worker's pace and runs in turn."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from sluice.runtime.engine import ordering
from sluice.runtime.engine.pacing import PROBE_EVERY, WORTH_A_THREAD_S, Pace, pace_of


def test_nothing_known_means_threads_and_a_probe() -> None:
    pace = Pace()
    assert pace.threads_help and pace.probes()


def test_records_that_only_compute_run_inline_and_waiting_ones_go_back_to_threads() -> None:
    pace = Pace()
    pace.measured(wall_s=0.0002, cpu_s=0.0002)  # computes, never waits
    assert not pace.threads_help
    for _ in range(10):  # then its records start waiting 50 ms each (a slow downstream)
        pace.measured(wall_s=0.0502, cpu_s=0.0002)
    assert pace.threads_help
    assert pace.waits_s is not None and pace.waits_s > WORTH_A_THREAD_S


def test_on_threads_one_batch_in_probe_every_is_measured() -> None:
    pace = Pace(waits_s=0.05)
    assert [pace.probes() for _ in range(2 * PROBE_EVERY)].count(True) == 2


def _batch(name: str, work: object, size: int = 6, threads: int = 3) -> set[str]:
    """Run one batch of ``size`` items; the names of the threads that ran them."""
    spec = SimpleNamespace(name=name, max_concurrency=threads)
    ran: set[str] = set()

    def one(item: int) -> None:
        ran.add(threading.current_thread().name)
        work()  # type: ignore[operator]

    ordering._spread(spec, one, list(range(size)))  # type: ignore[arg-type]
    return ran


def test_a_cpu_light_worker_leaves_the_pool_after_its_first_batch() -> None:
    here = threading.current_thread().name
    first = _batch("pacing-light", lambda: None)
    assert here in first and len(first) > 1  # probed here, the rest on the pool
    assert _batch("pacing-light", lambda: None) == {here}  # then in turn, on this thread
    assert not pace_of("pacing-light").threads_help


class _AtOnce:
    """A record that waits 10 ms, counting how many ran at once at most."""

    def __init__(self) -> None:
        self.running = self.most = 0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.01)
        with self._lock:
            self.running -= 1


def test_a_waiting_worker_stays_on_the_pool_and_never_exceeds_its_concurrency() -> None:
    wait = _AtOnce()
    for _ in range(3):
        assert len(_batch("pacing-io", wait)) > 1
    assert pace_of("pacing-io").threads_help
    assert wait.most == 3  # the probe here takes one of the 3 places


def test_a_shared_pool_runs_every_invoking_thread_s_records_and_keeps_max_concurrency() -> None:
    from concurrent.futures import ThreadPoolExecutor

    wait = _AtOnce()
    pool = ThreadPoolExecutor(8, "shared-test")
    ordering.share_pool("pacing-shared", pool)
    try:
        ran: list[set[str]] = []
        invokers = [
            threading.Thread(target=lambda: ran.append(_batch("pacing-shared", wait, size=9)))
            for _ in range(2)
        ]
        for invoker in invokers:
            invoker.start()
        for invoker in invokers:
            invoker.join()
    finally:
        ordering._shared.pop("pacing-shared", None)
        pool.shutdown()
    # every record off the invoking thread ran on the shared pool, across both invocations
    pooled = {name for names in ran for name in names if name.startswith("shared-test")}
    assert pooled and all(
        name.startswith("shared-test") or not name.startswith("pacing-shared")
        for names in ran
        for name in names
    )
    # and each batch of 9 still ran at most 3 at once: two batches, 6 at most together
    assert wait.most <= 6
