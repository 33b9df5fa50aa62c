"""One invocation, start to finish: the parts of the engine in the order they run."""

from __future__ import annotations

from functools import partial
from typing import Any

from sluice.runtime.context import Deps
from sluice.runtime.engine.jobs import CLAIMS, NOT_STARTED, Deadline, Job, Outcome, elect_leaders
from sluice.runtime.engine.lifecycle import Declared, Lifecycle
from sluice.runtime.engine.ordering import before_first_failure, run_records
from sluice.runtime.engine.prechecks import copies_among, copies_of, missed_cost
from sluice.runtime.engine.settling import dead_letter, settle
from sluice.runtime.idempotency import DynamoDBIdempotencyStore, IdempotencyStore
from sluice.runtime.records import parse_batch
from sluice.runtime.spec import Source, WorkerSpec
from sluice.runtime.types import PartialBatchResponse


def run_batch(worker: Declared, event: Any, context: Any, deps: Deps) -> PartialBatchResponse:
    """Process one invocation; raise BatchFailedError if every record failed."""
    spec = worker.spec
    jobs = [Job(inbound) for inbound in parse_batch(event, spec.source, spec.name)]
    deadline = Deadline(context, spec.timeout_s, spec.timeout_margin_s)
    store = idempotency_store(spec, deps)
    lifecycle = Lifecycle(worker, deps, deadline, store, claims=getattr(context, CLAIMS, None))
    lifecycle.decode(jobs)
    leaders = elect_leaders(jobs)
    copies = copies_of(spec.name)
    if copies.worth_a_read(missed_cost(spec.transact_only)):
        lifecycle.precheck(leaders)
    if spec.batch:
        stream = spec.source is Source.STREAM
        lifecycle.run_whole_batch(before_first_failure(jobs) if stream else jobs)
    else:
        now = partial(_dead_letter_one, deps=deps)
        run_records(spec, lifecycle.run_one, jobs, leaders, dead_letter=now)
    if store is not None:
        copies.saw(*copies_among(leaders))
    for job in jobs:
        job.follow_leader()
        lifecycle.let_go(job)  # settled from here on: no lease to keep alive
    not_started = getattr(context, NOT_STARTED, None)
    if not_started is not None:
        not_started.update(j.inbound.item_id for j in jobs if j.outcome is Outcome.SKIPPED)
    return settle(jobs, spec, deps, store)


def _dead_letter_one(job: Job, deps: Deps) -> None:
    dead_letter([job], deps)


def idempotency_store(spec: WorkerSpec, deps: Deps) -> IdempotencyStore | None:
    """The idempotency table, for workers that take records one by one."""
    if not spec.idempotent or spec.batch:
        return None
    return DynamoDBIdempotencyStore(
        deps.clients.dynamodb,
        deps.settings.table("idempotency"),
        ttl_s=spec.idempotency_ttl_s,
    )
