"""The batch engine: one Lambda invocation, from raw event to partial batch response.

1. parse the batch and decode every record (a contract violation is permanent);
2. skip the ids the idempotency table already knows (one BatchGetItem);
3. run the records: concurrently on standard queues; in order per message group on FIFO
   queues and per shard on streams, where a failure fails the rest of its group;
4. settle: release failed claims, dead-letter permanent failures with their reason, back
   off retries by receive count, emit metrics, and answer ``batchItemFailures``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Protocol

from sluice.core import Catalog, ContractError, Envelope
from sluice.runtime.context import Deps
from sluice.runtime.effects import AlreadyAppliedError, Effects
from sluice.runtime.errors import (
    BatchFailedError,
    ConfigurationError,
    PermanentError,
    RetryableError,
)
from sluice.runtime.idempotency import Claim, DynamoDBIdempotencyStore, IdempotencyStore
from sluice.runtime.middleware import run_after, run_before
from sluice.runtime.queues import DeadLetter
from sluice.runtime.records import Inbound, decode, parse_batch
from sluice.runtime.spec import Source, WorkerSpec
from sluice.runtime.telemetry import BatchCounts
from sluice.runtime.types import PartialBatchResponse

_pools = threading.local()


class Declared(Protocol):
    """What the engine needs of a worker (``Worker`` is one): its spec, catalog and function."""

    @property
    def spec(self) -> WorkerSpec:
        """The worker's declaration."""

    @property
    def catalog(self) -> Catalog:
        """The contracts its records are decoded against."""

    def call(self, payload: Any, deps: Deps) -> Any:
        """Call the worker's function with an envelope (or, for batch workers, a list)."""


def _run_all(spec: WorkerSpec, fn: Callable[[Any], None], items: Iterable[Any]) -> None:
    """Run ``fn`` over ``items`` on the worker's threads; return when all are done.

    Each invoking thread keeps one pool per worker for the life of the process: starting
    ``max_concurrency`` threads per batch cost ~0.4 ms a record (bench/bench_runtime.py).
    """
    pools: dict[tuple[str, int], ThreadPoolExecutor] = _pools.__dict__.setdefault("pools", {})
    key = (spec.name, spec.max_concurrency)
    pool = pools.get(key)
    if pool is None:
        pool = pools[key] = ThreadPoolExecutor(key[1], thread_name_prefix=spec.name)
    futures = [pool.submit(fn, item) for item in items]
    wait(futures)
    for future in futures:
        future.result()


class Outcome(Enum):
    """How one record ended."""

    PENDING = "pending"
    DONE = "done"
    DUPLICATE = "duplicate"
    PERMANENT = "permanent"
    RETRY = "retry"
    SKIPPED = "skipped_for_time"

    @property
    def is_failure(self) -> bool:
        """Reported in batchItemFailures (left for the queue or stream to deliver again)."""
        return self in (Outcome.RETRY, Outcome.SKIPPED, Outcome.PENDING)


@dataclass
class Job:
    """One record's journey through the engine."""

    inbound: Inbound
    envelope: Envelope[Any] | None = None
    outcome: Outcome = Outcome.PENDING
    reason: str = ""
    detail: str = ""
    claimed: bool = False
    committed: bool = False
    """Its effects and completion were committed together (see ``Deps.transact``)."""
    unsettled: bool = False
    """Done, but its completion could not be written yet (settle() retries it)."""
    leader: Job | None = None
    """Set on a copy of an envelope met earlier in the same batch."""

    @property
    def key(self) -> str:
        """The envelope id (only for decoded jobs)."""
        assert self.envelope is not None
        return self.envelope.id

    def end(self, outcome: Outcome, reason: str = "", detail: str = "") -> None:
        """Record the outcome, unless one is already set."""
        if self.outcome is Outcome.PENDING:
            self.outcome, self.reason, self.detail = outcome, reason, detail

    def follow_leader(self) -> None:
        """A copy ends as its leader did; a success makes it a duplicate."""
        lead = self.leader
        if lead is not None and lead.outcome is not Outcome.PENDING:
            done = lead.outcome is Outcome.DONE
            self.end(Outcome.DUPLICATE if done else lead.outcome, lead.reason, lead.detail)


class Deadline:
    """The invocation's remaining time, from the Lambda context or the worker's timeout."""

    def __init__(self, context: Any, timeout_s: int, margin_s: float) -> None:
        self._context = context if hasattr(context, "get_remaining_time_in_millis") else None
        self._end = time.monotonic() + timeout_s
        self.margin_ms = int(margin_s * 1000)

    def remaining_ms(self) -> int:
        """Milliseconds before the function is killed."""
        if self._context is not None:
            return int(self._context.get_remaining_time_in_millis())
        return int((self._end - time.monotonic()) * 1000)

    def too_late(self) -> bool:
        """True once starting another record risks being killed mid-record."""
        return self.remaining_ms() < self.margin_ms


def run_batch(worker: Declared, event: Any, context: Any, deps: Deps) -> PartialBatchResponse:
    """Process one invocation; raise BatchFailedError if every record failed."""
    spec = worker.spec
    jobs = [Job(inbound) for inbound in parse_batch(event, spec.source, spec.name)]
    runner = _Runner(worker, deps, Deadline(context, spec.timeout_s, spec.timeout_margin_s))
    runner.decode(jobs)
    leaders = _elect_leaders(jobs)
    runner.precheck(leaders)
    if spec.batch:
        runner.run_whole_batch(
            _before_first_failure(jobs) if spec.source is Source.STREAM else jobs
        )
    elif spec.source.is_fifo:
        runner.run_groups(jobs, key=lambda j: j.inbound.group_id or "")
    elif spec.source is Source.STREAM:
        runner.run_groups(jobs, key=lambda j: "shard")
    else:
        runner.run_concurrently([j for j in leaders if j.outcome is Outcome.PENDING])
    for job in jobs:
        job.follow_leader()
    return runner.settle(jobs)


def _elect_leaders(jobs: list[Job]) -> list[Job]:
    """One job per envelope id runs; later copies in the batch follow its outcome."""
    leaders: dict[str, Job] = {}
    for job in jobs:
        if job.outcome is Outcome.PENDING:
            first = leaders.setdefault(job.key, job)
            job.leader = None if first is job else first
    return list(leaders.values())


def _before_first_failure(jobs: list[Job]) -> list[Job]:
    """A shard resumes at its first failure, so nothing after it should run now."""
    for index, job in enumerate(jobs):
        if job.outcome.is_failure and job.outcome is not Outcome.PENDING:
            for rest in jobs[index + 1 :]:
                rest.end(Outcome.RETRY, "after_failure", f"after {job.inbound.item_id}")
            return jobs[:index]
    return jobs


class _Runner:
    """The steps of one invocation, sharing the worker, its dependencies and the clock."""

    def __init__(self, worker: Declared, deps: Deps, deadline: Deadline) -> None:
        self.worker = worker
        self.spec = worker.spec
        self.deps = deps
        self.log = deps.telemetry.logger
        self.deadline = deadline
        self.store: IdempotencyStore | None = None
        if self.spec.idempotent and not self.spec.batch:
            self.store = DynamoDBIdempotencyStore(
                deps.clients.dynamodb,
                deps.settings.table("idempotency"),
                ttl_s=self.spec.idempotency_ttl_s,
            )

    def key(self, job: Job) -> str:
        """The idempotency key: per worker, so each subscriber applies an event once."""
        return f"{self.spec.name}#{job.key}"

    def decode(self, jobs: list[Job]) -> None:
        """Decode every record; contract violations and unsubscribed types are permanent."""
        for job in jobs:
            try:
                job.envelope = decode(job.inbound, self.worker.catalog)
            except ContractError as exc:
                self.fail_permanently(job, exc.reason, exc.detail)
                continue
            if self.spec.source.is_queue and not self.spec.accepts(job.envelope.type):
                self.fail_permanently(
                    job,
                    "not_subscribed",
                    f"worker {self.spec.name!r} does not subscribe to {job.envelope.type!r}",
                )

    def fail_permanently(self, job: Job, reason: str, detail: str) -> None:
        """Queues dead-letter it; a stream has no DLQ, so its record fails and the event
        source's retry cap sends it to the on-failure destination."""
        outcome = Outcome.PERMANENT if self.spec.source.is_queue else Outcome.RETRY
        job.end(outcome, reason, detail)
        self.log.error(
            "permanent failure",
            extra={"reason": reason, "detail": detail, "message_id": job.inbound.item_id},
        )

    def precheck(self, jobs: list[Job]) -> None:
        """One BatchGetItem: completed ids are duplicates, live claims are retried later."""
        if self.store is None or not jobs:
            return
        now_ms = int(time.time() * 1000)
        try:
            seen = self.store.lookup([self.key(j) for j in jobs])
        except Exception:  # only an optimisation: the per-record claim still decides
            self.log.warning(
                "idempotency precheck failed; claiming record by record", exc_info=True
            )
            return
        for job in jobs:
            known = seen.get(self.key(job))
            verdict = known.claim(now_ms) if known else Claim.CLAIMED
            if verdict is Claim.DUPLICATE:
                job.end(Outcome.DUPLICATE)
            elif verdict is Claim.IN_PROGRESS:
                job.end(Outcome.RETRY, "in_progress", "another invocation holds this event")

    def run_concurrently(self, jobs: list[Job]) -> None:
        """Standard queues: up to ``max_concurrency`` records at once."""
        threads = min(self.spec.max_concurrency, len(jobs))
        if threads <= 1:
            for job in jobs:
                self.run_one(job)
            return
        _run_all(self.spec, self.run_one, jobs)

    def run_groups(self, jobs: list[Job], key: Callable[[Job], str]) -> None:
        """In order within each group; after a failure the rest of the group fails too.

        ``jobs`` is the whole batch in delivery order, so a record that already failed
        (undecodable, or held by another invocation) blocks the records behind it.
        """
        groups: dict[str, list[Job]] = {}
        for job in jobs:
            groups.setdefault(key(job), []).append(job)

        def run_group(group: list[Job]) -> None:
            for index, job in enumerate(group):
                if job.leader is None:
                    if job.outcome is Outcome.PENDING:
                        self.run_one(job)
                else:
                    job.follow_leader()
                if job.outcome.is_failure:
                    for rest in group[index + 1 :]:
                        rest.end(Outcome.RETRY, "group_blocked", f"after {job.inbound.item_id}")
                    return

        threads = min(self.spec.max_concurrency, len(groups))
        if threads <= 1:
            for group in groups.values():
                run_group(group)
            return
        _run_all(self.spec, run_group, groups.values())

    def run_one(self, job: Job) -> None:
        """Claim, call the function, complete, and classify what it raised."""
        envelope = job.envelope
        assert envelope is not None
        if self.deadline.too_late():
            job.end(Outcome.SKIPPED, "timeout_margin", "not started: too little time left")
            return
        scope = self.deps.telemetry.record_scope(
            correlation_id=envelope.correlation_id, event_id=envelope.id, event_type=envelope.type
        )
        with scope:
            deps, effects = self.deps, None
            if self.store is not None:
                if not self._claim(job):
                    return
                effects = Effects(self.deps.clients.dynamodb, self.store, self.key(job))
                deps = replace(self.deps, effects=effects)
            started = time.perf_counter()
            self._call(job, envelope, deps)
            if effects is not None and effects.committed:
                job.committed = True  # completed atomically with its effect: never release it
            elif job.outcome is Outcome.DONE and effects is not None:
                self._complete(job)
            self.log.info(
                "record finished",
                extra={
                    "outcome": job.outcome.value,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    **({"reason": job.reason} if job.reason else {}),
                },
            )

    def _call(self, job: Job, envelope: Envelope[Any], deps: Deps) -> None:
        chain, name = deps.middleware, self.spec.name
        try:
            run_before(chain, name, envelope)
            try:
                self.worker.call(envelope, deps)
            except Exception as exc:
                run_after(chain, name, envelope, exc)
                raise
            run_after(chain, name, envelope, None)
        except AlreadyAppliedError:
            job.end(Outcome.DUPLICATE)
        except (PermanentError, ContractError) as exc:
            self.fail_permanently(job, exc.reason, exc.detail)
        except ConfigurationError as exc:
            job.end(Outcome.RETRY, "configuration", str(exc))
            self.log.error("worker misconfigured", extra={"detail": str(exc)})
        except Exception as exc:
            reason = "retryable" if isinstance(exc, RetryableError) else "unhandled_exception"
            job.end(Outcome.RETRY, reason, f"{type(exc).__name__}: {exc}")
            self.log.warning(
                "record failed; it will be retried",
                exc_info=True,
                extra={"receive_count": job.inbound.receive_count},
            )
        else:
            job.end(Outcome.DONE)

    def _complete(self, job: Job) -> None:
        """Mark the event done right away, so a crash later in the batch cannot redo it."""
        assert self.store is not None
        try:
            self.store.complete(self.key(job))
        except Exception:  # settle() tries again with the rest of the batch
            self.log.warning("could not mark the record complete yet", exc_info=True)
            job.unsettled = True

    def _claim(self, job: Job) -> bool:
        assert self.store is not None
        until = int(time.time() * 1000) + self.deadline.remaining_ms()
        try:
            verdict = self.store.claim(self.key(job), until)
        except Exception as exc:  # the store is down: leave the record to the retries
            job.end(Outcome.RETRY, "idempotency_unavailable", f"{type(exc).__name__}: {exc}")
            return False
        if verdict is Claim.DUPLICATE:
            job.end(Outcome.DUPLICATE)
            self.log.info("record duplicate", extra={"outcome": "duplicate"})
        elif verdict is Claim.IN_PROGRESS:
            job.end(Outcome.RETRY, "in_progress", "another invocation holds this event")
        job.claimed = verdict is Claim.CLAIMED
        return job.claimed

    def run_whole_batch(self, jobs: list[Job]) -> None:
        """``batch=True`` workers take every envelope and return the ids that failed."""
        jobs = [j for j in jobs if j.outcome is Outcome.PENDING and j.leader is None]
        if not jobs:
            return
        if self.deadline.too_late():
            for job in jobs:
                job.end(Outcome.SKIPPED, "timeout_margin", "not started: too little time left")
            return
        try:
            failed = set(self.worker.call([j.envelope for j in jobs], self.deps) or ())
        except Exception as exc:
            self.log.exception("batch function raised; every record will be retried")
            for job in jobs:
                job.end(Outcome.RETRY, "unhandled_exception", f"{type(exc).__name__}: {exc}")
            return
        for job in jobs:
            if job.key in failed:
                job.end(Outcome.RETRY, "batch_item_failed", "the batch function reported it")
            else:
                job.end(Outcome.DONE)

    def settle(self, jobs: list[Job]) -> PartialBatchResponse:
        """Write idempotency, dead-letter, back off, emit metrics, answer the failures."""
        if self.store is not None:
            done = [self.key(j) for j in jobs if j.unsettled]
            kept = (Outcome.DONE, Outcome.DUPLICATE)
            released = [
                self.key(j) for j in jobs if j.claimed and not j.committed and j.outcome not in kept
            ]
            if done or released:
                try:
                    unwritten = self.store.settle(done, released)
                except Exception:  # the effects happened: answer success, let claims expire
                    self.log.exception("could not settle idempotency records")
                    unwritten = done + released
                if unwritten:
                    self.log.error("idempotency records not written", extra={"keys": unwritten})
        self._dead_letter(jobs)
        failures = [j for j in jobs if j.outcome.is_failure]
        if failures and self.spec.source.is_queue:
            try:
                self.deps.queues.back_off(
                    [j.inbound for j in failures],
                    base_s=self.spec.backoff_base_s,
                    cap_s=self.spec.visibility_timeout_s,
                )
            except Exception:  # backoff is a courtesy; the visibility timeout still applies
                self.log.warning("could not back off failed records", exc_info=True)
        self._emit(jobs)
        if failures and len(failures) == len(jobs):
            reasons = sorted({j.reason for j in failures})
            raise BatchFailedError(
                f"all {len(jobs)} records of the batch failed ({', '.join(reasons)}); "
                "the whole batch will be retried"
            )
        return {"batchItemFailures": [{"itemIdentifier": j.inbound.item_id} for j in failures]}

    def _dead_letter(self, jobs: list[Job]) -> None:
        permanent = [j for j in jobs if j.outcome is Outcome.PERMANENT]
        if not permanent:
            return
        letters = [DeadLetter(j.inbound, j.reason, j.detail) for j in permanent]
        try:
            unsent = self.deps.queues.dead_letter(letters)
        except Exception:
            self.log.exception("could not reach the DLQ; the records stay on their queue")
            unsent = letters
        for letter in unsent:
            for job in permanent:
                if job.inbound is letter.inbound:
                    job.outcome = Outcome.RETRY

    def _emit(self, jobs: list[Job]) -> None:
        counts = BatchCounts()
        now_ms = int(time.time() * 1000)
        for job in jobs:
            counts.processed += job.outcome is Outcome.DONE
            counts.duplicates += job.outcome is Outcome.DUPLICATE
            counts.permanent += job.outcome is Outcome.PERMANENT
            counts.failed += job.outcome.is_failure
            counts.skipped_for_time += job.outcome is Outcome.SKIPPED
            if job.inbound.sent_at_ms:
                counts.saw_age(now_ms - job.inbound.sent_at_ms)
        try:
            self.deps.telemetry.emit(counts)
        except Exception:
            self.log.warning("could not emit metrics", exc_info=True)
