"""One record's lifecycle: decode, claim, call the worker through its middleware, complete.

Each step ends the record's ``Job`` with an ``Outcome`` and a reason. Nothing here writes
to a queue or answers Lambda: settling does that for the whole batch afterwards.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any, Protocol

from sluice.core import Catalog, ContractError, Envelope
from sluice.runtime.context import Deps
from sluice.runtime.effects import AlreadyAppliedError, Effects, HeldElsewhereError
from sluice.runtime.engine.jobs import Deadline, Job, Outcome, claim_key
from sluice.runtime.errors import ConfigurationError, PermanentError, RetryableError
from sluice.runtime.idempotency import Claim, Held, IdempotencyStore, LeaseLostError
from sluice.runtime.middleware import run_after, run_before
from sluice.runtime.records import decode
from sluice.runtime.spec import WorkerSpec


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


class Lifecycle:
    """The steps a record goes through, sharing the worker, its dependencies and the clock."""

    def __init__(
        self,
        worker: Declared,
        deps: Deps,
        deadline: Deadline,
        store: IdempotencyStore | None,
        claims: dict[str, str] | None = None,
    ) -> None:
        self.worker = worker
        self.spec = worker.spec
        self.deps = deps
        self.log = deps.telemetry.logger
        self.deadline = deadline
        self.store = store
        self.claims = claims
        """The leases this invocation holds, where its context keeps them (``jobs.CLAIMS``)."""

    def key(self, job: Job) -> str:
        """The job's idempotency key."""
        return claim_key(self.spec.name, job)

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
            elif verdict is Claim.IN_PROGRESS and known is not None:
                job.end(Outcome.RETRY, "in_progress", "another invocation holds this event")
                job.held_until_ms = known.in_progress_expiry_ms

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
                if not (self.spec.transact_only or self._claim(job)):
                    return
                effects = Effects(self.deps.clients.dynamodb, self.store, self.key(job), job.owner)
                deps = replace(self.deps, effects=effects)
            started = time.perf_counter()
            self._call(job, envelope, deps)
            if effects is not None and effects.committed:
                job.committed = True  # completed atomically with its effect: never release it
                self.let_go(job)
            elif job.outcome is Outcome.DONE and effects is not None:
                self._complete_first(job) if self.spec.transact_only else self._complete(job)
            self.log.info(
                "record finished",
                extra={
                    "outcome": job.outcome.value,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    **({"reason": job.reason} if job.reason else {}),
                },
            )

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
            self.let_go(job)
        except LeaseLostError:
            self.lose_lease(job, applied=False)
        except HeldElsewhereError as exc:
            held_elsewhere(job, exc.until_ms)
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

    def _claim(self, job: Job) -> bool:
        assert self.store is not None
        until = int(time.time() * 1000) + self.deadline.remaining_ms()
        owner = uuid.uuid4().hex
        try:
            verdict = self.store.claim(self.key(job), owner, until)
        except Exception as exc:  # the store is down: leave the record to the retries
            job.end(Outcome.RETRY, "idempotency_unavailable", f"{type(exc).__name__}: {exc}")
            self.log.warning(
                "could not claim the record; it will be retried",
                exc_info=True,
                extra={"message_id": job.inbound.item_id, "reason": "idempotency_unavailable"},
            )
            return False
        if verdict.claim is Claim.DUPLICATE:
            job.end(Outcome.DUPLICATE)
            self.log.info("record duplicate", extra={"outcome": "duplicate"})
        elif verdict.claim is Claim.IN_PROGRESS:
            held_elsewhere(job, verdict.held_until_ms)
        job.claimed = verdict.claim is Claim.CLAIMED
        if job.claimed:
            job.owner = owner
            if self.claims is not None:
                self.claims[self.key(job)] = owner
        return job.claimed

    def _complete(self, job: Job) -> None:
        """Mark the event done right away, so a crash later in the batch cannot redo it."""
        assert self.store is not None
        try:
            held = self.store.complete(self.key(job), job.owner)
        except Exception:  # settling tries again with the rest of the batch
            self.log.warning("could not mark the record complete yet", exc_info=True)
            job.unsettled = True
            return
        if held is Held.HELD:
            self.let_go(job)
        else:
            self.lose_lease(job, applied=True, completed=held is Held.COMPLETED)

    def _complete_first(self, job: Job) -> None:
        """A ``transact_only`` function that wrote no effect: mark the event done if it is
        new. Nothing happened, so whatever stops that leaves the record to run again."""
        assert self.store is not None
        job.outcome = Outcome.PENDING  # the write below decides how the record ends
        try:
            verdict = self.store.complete_first(self.key(job))
        except Exception as exc:
            job.end(Outcome.RETRY, "idempotency_unavailable", f"{type(exc).__name__}: {exc}")
            self.log.warning("could not mark the record complete", exc_info=True)
            return
        if verdict.claim is Claim.IN_PROGRESS:
            held_elsewhere(job, verdict.held_until_ms)
        job.end(Outcome.DUPLICATE if verdict.claim is Claim.DUPLICATE else Outcome.DONE)

    def lose_lease(self, job: Job, *, applied: bool, completed: bool = False) -> None:
        """The job's lease was taken over or given up before it completed: its completion
        was refused. Logged and counted; retried unless the event is done elsewhere."""
        job.lease_lost = True
        self.let_go(job)
        if completed:
            job.outcome, job.reason, job.detail = Outcome.DUPLICATE, "", ""
        else:
            job.outcome = Outcome.RETRY
            job.reason, job.detail = "lease_lost", "the lease lapsed and is no longer this holder's"
        self.log.error(
            "lease lost; completion refused",
            extra={
                "message_id": job.inbound.item_id,
                "reason": "lease_lost",
                # a plain effect ran and cannot be taken back; a transact() one was refused
                "effect_applied": applied,
            },
        )

    def let_go(self, job: Job) -> None:
        """Stop keeping the job's lease alive: it is settled, or no longer its own."""
        if self.claims is not None and job.claimed:
            self.claims.pop(self.key(job), None)


def held_elsewhere(job: Job, until_ms: int) -> None:
    """Another invocation holds the event until ``until_ms``: retry it (not before then, on
    its last delivery)."""
    job.end(Outcome.RETRY, "in_progress", "another invocation holds this event")
    job.held_until_ms = until_ms
