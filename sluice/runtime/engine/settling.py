"""Settling a batch once its records have run, and the answer Lambda gets.

In this order: write the idempotency records left over (completions that failed, claims
of failed records to release), dead-letter the permanent failures with their reason, back
off the retries by receive count, emit the batch's metrics, and answer
``batchItemFailures``. A record another invocation holds is backed off as usual (the holder
usually finishes first, and the copy is then a duplicate), until its next delivery would be
its last before SQS's redrive: that one waits until the claim lapses, so the event of a
holder that died is taken over, not dead-lettered without a reason.

A queue's records are always answered by id, all of them if all failed: SQS retries them
the same way, and the invocation is no Lambda Error, so the Errors alarm pages only for
crashes and timeouts. A stream batch whose every record failed fails
the invocation: its shard is blocked, which an operator must hear about.
"""

from __future__ import annotations

import time

from sluice.runtime.context import Deps
from sluice.runtime.engine.jobs import Job, Outcome, claim_key
from sluice.runtime.errors import BatchFailedError
from sluice.runtime.idempotency import IdempotencyStore, Settled
from sluice.runtime.queues import DeadLetter
from sluice.runtime.spec import WorkerSpec
from sluice.runtime.telemetry import BatchCounts
from sluice.runtime.types import PartialBatchResponse


def settle(
    jobs: list[Job], spec: WorkerSpec, deps: Deps, store: IdempotencyStore | None
) -> PartialBatchResponse:
    """Write idempotency, dead-letter, back off, emit metrics, answer the failures."""
    if store is not None:
        _write_claims(jobs, spec, deps, store)
    dead_letter(jobs, deps)
    failures = [j for j in jobs if j.outcome.is_failure]
    if failures and spec.source.is_queue:
        try:
            deps.queues.back_off(
                [j.inbound for j in failures],
                base_s=spec.backoff_base_s,
                cap_s=spec.visibility_timeout_s,
                held_until_ms={
                    j.inbound.item_id: j.held_until_ms
                    for j in failures
                    if j.inbound.receive_count + 1 >= spec.max_receive_count
                },
            )
        except Exception:  # backoff is a courtesy; the visibility timeout still applies
            deps.telemetry.logger.warning("could not back off failed records", exc_info=True)
    _emit(jobs, deps)
    if failures and len(failures) == len(jobs) and not spec.source.is_queue:
        reasons = sorted({j.reason for j in failures})
        raise BatchFailedError(
            f"all {len(jobs)} records of the batch failed ({', '.join(reasons)}); "
            "the whole batch will be retried"
        )
    return {"batchItemFailures": [{"itemIdentifier": j.inbound.item_id} for j in failures]}


def _write_claims(jobs: list[Job], spec: WorkerSpec, deps: Deps, store: IdempotencyStore) -> None:
    """Complete the records whose completion failed; release the failed records' leases."""
    log = deps.telemetry.logger
    done = {claim_key(spec.name, j): j for j in jobs if j.unsettled}
    kept = (Outcome.DONE, Outcome.DUPLICATE)
    released = {
        claim_key(spec.name, j): j.owner
        for j in jobs
        if j.claimed and not j.committed and not j.lease_lost and j.outcome not in kept
    }
    if done or released:
        try:
            settled = store.settle({k: j.owner for k, j in done.items()}, released)
        except Exception:  # the effects happened: answer success, let claims expire
            log.exception("could not settle idempotency records")
            settled = Settled([*done, *released], [], [])
        if settled.unwritten:
            log.error("idempotency records not written", extra={"keys": settled.unwritten})
        for key in (*settled.lost, *settled.completed_elsewhere):
            job = done[key]
            job.lease_lost = True
            if key in settled.lost:
                job.outcome, job.reason = Outcome.RETRY, "lease_lost"
            else:  # done, by another holder too: nothing left to retry
                job.outcome, job.reason = Outcome.DUPLICATE, ""
            log.error(
                "lease lost; completion refused",
                extra={"message_id": job.inbound.item_id, "reason": "lease_lost"},
            )


def dead_letter(jobs: list[Job], deps: Deps) -> None:
    """Send permanent failures to their DLQ; those it cannot take stay on their queue."""
    permanent = [j for j in jobs if j.outcome is Outcome.PERMANENT and not j.dead_lettered]
    if not permanent:
        return
    letters = [DeadLetter(j.inbound, j.reason, j.detail) for j in permanent]
    try:
        unsent = deps.queues.dead_letter(letters)
    except Exception:
        deps.telemetry.logger.exception("could not reach the DLQ; the records stay on their queue")
        unsent = letters
    kept = {id(letter.inbound) for letter in unsent}
    for job in permanent:
        if id(job.inbound) in kept:
            job.outcome = Outcome.RETRY
        else:
            job.dead_lettered = True
    if unsent:
        deps.telemetry.logger.error(
            "permanent failures not dead-lettered; they stay on their queue for a retry",
            extra={"message_ids": [letter.inbound.item_id for letter in unsent]},
        )


def _emit(jobs: list[Job], deps: Deps) -> None:
    if not deps.telemetry.wants_counts:  # nothing would read them: count nothing
        return
    counts = BatchCounts()
    now_ms = int(time.time() * 1000)
    for job in jobs:
        counts.processed += job.outcome is Outcome.DONE
        counts.duplicates += job.outcome is Outcome.DUPLICATE
        counts.permanent += job.outcome is Outcome.PERMANENT
        counts.failed += job.outcome.is_failure
        counts.skipped_for_time += job.outcome is Outcome.SKIPPED
        counts.lease_lost += job.lease_lost
        if job.inbound.sent_at_ms:
            counts.saw_age(now_ms - job.inbound.sent_at_ms)
    try:
        deps.telemetry.emit(counts)
    except Exception:
        deps.telemetry.logger.warning("could not emit metrics", exc_info=True)
