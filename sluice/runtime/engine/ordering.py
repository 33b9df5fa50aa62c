"""In which order, and on how many threads, the records of a batch run.

- standard queues: concurrently, up to ``max_concurrency`` records at once;
- FIFO queues: in order within each message group, groups side by side;
- streams: in order within the shard.

Threads only where they help: a worker whose records barely wait runs them one after the
other on the invoking thread (``pacing``).

Where order holds, a failure fails the rest of its group: the event source delivers them
again, after the failed record. What running one record means is the lifecycle's business.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial
from typing import Any, TypeVar

from sluice.runtime.engine.jobs import Job, Outcome
from sluice.runtime.engine.pacing import pace_of, timed
from sluice.runtime.spec import Source, WorkerSpec

RunOne = Callable[[Job], None]
T = TypeVar("T")

_pools = threading.local()
_shared: dict[str, ThreadPoolExecutor] = {}
"""Worker name -> the one pool every invoking thread of the process runs its records on."""


def share_pool(worker: str, pool: ThreadPoolExecutor) -> None:
    """Run ``worker``'s records on ``pool``, whichever thread invokes it.

    For a process that invokes one worker from many threads at once (``sluice work``: a
    batch per thread, ``concurrency`` records at most), so its record threads are one warm
    set of ``concurrency`` rather than ``max_concurrency`` more for each invoking thread.
    The pool must have a thread for every record that may run at once.
    """
    _shared[worker] = pool


def _forget_pools() -> None:
    """A forked child inherits its parent's pools but none of their threads: start afresh."""
    _pools.__dict__.clear()
    _shared.clear()


os.register_at_fork(after_in_child=_forget_pools)


def run_records(
    spec: WorkerSpec,
    run_one: RunOne,
    jobs: list[Job],
    leaders: list[Job],
    dead_letter: RunOne | None = None,
) -> None:
    """Run every pending record of the batch in the order its source demands.

    On FIFO queues ``dead_letter`` sends a permanent failure to its DLQ before the rest of
    its group runs; if it cannot, the record becomes a retry and blocks its group.
    """
    if spec.source.is_fifo:
        run_groups(spec, run_one, jobs, key=_group_id, dead_letter=dead_letter)
    elif spec.source is Source.STREAM:
        run_groups(spec, run_one, jobs, key=lambda j: "shard")
    else:
        run_concurrently(spec, run_one, [j for j in leaders if j.outcome is Outcome.PENDING])


def _group_id(job: Job) -> str:
    return job.inbound.group_id or ""


def run_concurrently(spec: WorkerSpec, run_one: RunOne, jobs: list[Job]) -> None:
    """Standard queues: up to ``max_concurrency`` records at once."""
    _spread(spec, run_one, jobs)


def run_groups(
    spec: WorkerSpec,
    run_one: RunOne,
    jobs: list[Job],
    key: Callable[[Job], str],
    dead_letter: RunOne | None = None,
) -> None:
    """In order within each group; after a failure the rest of the group fails too.

    ``jobs`` is the whole batch in delivery order, so a record that already failed
    (undecodable, or held by another invocation) blocks the records behind it. A permanent
    failure lets its group go on only once ``dead_letter`` has it on its DLQ.
    """
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(key(job), []).append(job)

    def run_group(group: list[Job]) -> None:
        for index, job in enumerate(group):
            if job.leader is None:
                if job.outcome is Outcome.PENDING:
                    run_one(job)
            else:
                job.follow_leader()
            if dead_letter is not None and job.outcome is Outcome.PERMANENT:
                dead_letter(job)
            if job.outcome.is_failure:
                for rest in group[index + 1 :]:
                    rest.end(Outcome.RETRY, "group_blocked", f"after {job.inbound.item_id}")
                return

    _spread(spec, run_group, list(groups.values()))


def before_first_failure(jobs: list[Job]) -> list[Job]:
    """A shard resumes at its first failure, so nothing after it should run now."""
    for index, job in enumerate(jobs):
        if job.outcome.is_failure and job.outcome is not Outcome.PENDING:
            for rest in jobs[index + 1 :]:
                rest.end(Outcome.RETRY, "after_failure", f"after {job.inbound.item_id}")
            return jobs[:index]
    return jobs


def _spread(spec: WorkerSpec, fn: Callable[[T], None], items: list[T]) -> None:
    """``fn`` over ``items`` (records, or FIFO groups): on the worker's threads while its
    records wait long enough to overlap, else one after the other on this thread."""
    pace = pace_of(spec.name)
    if min(spec.max_concurrency, len(items)) <= 1 or not pace.threads_help:
        for index, item in enumerate(items):  # the first of each batch keeps the pace known
            if index:
                fn(item)
            else:
                timed(pace, fn, item)
        return
    if pace.probes():  # the first one here, beside the others on the pool: measured
        _run_all(spec, fn, items[1:], here=lambda: timed(pace, fn, items[0]))
        return
    _run_all(spec, fn, items)


def _run_all(
    spec: WorkerSpec,
    fn: Callable[[Any], None],
    items: Iterable[Any],
    here: Callable[[], None] | None = None,
) -> None:
    """Run ``fn`` over ``items`` on the worker's threads; return when all are done.

    ``here`` runs on this thread meanwhile, and takes one of the ``max_concurrency`` places.
    Each invoking thread keeps one pool per worker for the life of the process: starting
    ``max_concurrency`` threads per batch cost ~0.4 ms a record (bench/bench_runtime.py).
    """
    pool = _shared.get(spec.name) or _own_pool(spec)
    items = list(items)
    # At most max_concurrency at once, ``here`` included: places are counted only for a
    # batch larger than that (the pool alone may not hold it to max_concurrency).
    places = None
    if len(items) + (here is not None) > spec.max_concurrency:
        places = threading.BoundedSemaphore(spec.max_concurrency)
        if here is not None:
            places.acquire()
    futures = [
        pool.submit(fn if places is None else partial(_in_place, places, fn), item)
        for item in items
    ]
    try:
        if here is not None:
            try:
                here()
            finally:
                if places is not None:
                    places.release()
    finally:
        wait(futures)
    for future in futures:
        future.result()


def _own_pool(spec: WorkerSpec) -> ThreadPoolExecutor:
    """This invoking thread's pool for the worker, made on first use."""
    pools: dict[tuple[str, int], ThreadPoolExecutor] = _pools.__dict__.setdefault("pools", {})
    key = (spec.name, spec.max_concurrency)
    pool = pools.get(key)
    if pool is None:
        pool = pools[key] = ThreadPoolExecutor(key[1], thread_name_prefix=spec.name)
    return pool


def _in_place(places: threading.BoundedSemaphore, fn: Callable[[Any], None], item: Any) -> None:
    with places:
        fn(item)
