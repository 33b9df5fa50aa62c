"""One record's state on its way through the engine, and the invocation's clock."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sluice.core import Envelope
from sluice.runtime.records import Inbound

CLAIMS = "sluice_claims"
"""A context attribute: if the invocation's context has a dict by this name, the engine
keeps in it each lease it holds, key -> owner, from its claim until its completion
(``sluice work`` extends those with its visibility heartbeat, and abandons those still held
when it gives records up at its drain deadline). Lambda's context has none."""
NOT_STARTED = "sluice_not_started"
"""A context attribute: if the invocation's context has a set by this name, the engine adds
the message id of each record it did not start for lack of time (``sluice work``'s drain
hands those back; a record that ran and failed keeps its backoff). Lambda's has none."""


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
    owner: str = ""
    """The token of this job's lease, once claimed."""
    lease_lost: bool = False
    """Its lease was taken over or given up before it completed: its completion was refused."""
    committed: bool = False
    """Its effects and completion were committed together (see ``Deps.transact``)."""
    unsettled: bool = False
    """Done, but its completion could not be written yet (settling retries it)."""
    dead_lettered: bool = False
    """A permanent failure already on its DLQ (FIFO sends each before its group goes on)."""
    leader: Job | None = None
    """Set on a copy of an envelope met earlier in the same batch."""
    held_until_ms: int = 0
    """Another invocation's claim on it lapses then (its last retry waits at least that long)."""

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


def claim_key(worker: str, job: Job) -> str:
    """The idempotency key: per worker, so each subscriber applies an event once."""
    return f"{worker}#{job.key}"


def elect_leaders(jobs: list[Job]) -> list[Job]:
    """One job per envelope id runs; later copies in the batch follow its outcome."""
    leaders: dict[str, Job] = {}
    for job in jobs:
        if job.outcome is Outcome.PENDING:
            first = leaders.setdefault(job.key, job)
            job.leader = None if first is job else first
    return list(leaders.values())


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
