"""Whether a batch is worth a precheck: only while copies of events already seen arrive.

The precheck is one BatchGetItem per batch, for a read unit per record. It pays only for the
copies it finds: each one then costs no write. A copy it misses is refused all the same, by
its claim (a write unit: 5 read units on demand) or, for a ``transact_only`` worker, by its
transaction (two items at two write units each: 20 read units). New records gain nothing
from it. So each worker keeps a moving average of the share of its records that were copies
(of an event completed, or held by another invocation), learnt from every batch whether
prechecked or not: the claim or the transaction finds the copies the precheck did not look
for. A batch is prechecked while that share, times what a missed copy costs, is worth at
least the read (as ``pacing`` turns threads on while records wait).

A worker nothing is known of yet does not precheck: duplicates are the exception, and the
first batch of copies after a quiet spell pays its refused writes, then turns the precheck on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from sluice.runtime.engine.jobs import Job, Outcome

READ = 1.0
"""What the precheck costs a record: one strongly consistent read unit (items < 4 KB)."""
WRITE_UNIT = 5.0
"""On demand, a write request unit costs 5 read request units."""
CLAIM_UNITS = 1.0
"""Write units of a claim, or of a completion written on its own: one PutItem under 1 KB."""
TRANSACTION_ITEM_UNITS = 2.0
"""Write units of an item in a TransactWriteItems (under 1 KB): twice a plain write."""
MISSED_CLAIM = CLAIM_UNITS * WRITE_UNIT
"""What a copy the precheck missed costs a claiming worker: a refused PutItem (a write unit)."""
MISSED_TRANSACTION = 2 * TRANSACTION_ITEM_UNITS * WRITE_UNIT
"""... and a ``transact_only`` worker: a refused transaction of at least two items (its
effect and the completion), each charged although refused."""
WEIGHT = 0.2
"""How much the newest batch moves the average (an exponential moving average)."""


@dataclass
class Copies:
    """One worker's records: the share that were copies, on average."""

    share: float = 0.0

    def worth_a_read(self, missed: float) -> bool:
        """Whether a precheck saves more than it costs, when a missed copy costs ``missed``."""
        return self.share * missed >= READ

    def saw(self, copies: int, records: int) -> None:
        """Add one batch: ``copies`` of its ``records`` were copies (no records: no news)."""
        if records:
            self.share += WEIGHT * (copies / records - self.share)


def missed_cost(transact_only: bool) -> float:
    """What a copy costs that the precheck did not find."""
    return MISSED_TRANSACTION if transact_only else MISSED_CLAIM


def copies_among(leaders: Iterable[Job]) -> tuple[int, int]:
    """(copies, records) among the records of a batch that reached idempotency: a copy ended
    a duplicate, or was retried because another invocation holds it."""
    copies = records = 0
    for job in leaders:
        if job.outcome is Outcome.SKIPPED:  # never looked at
            continue
        records += 1
        copies += job.outcome is Outcome.DUPLICATE or job.reason == "in_progress"
    return copies, records


_copies: dict[str, Copies] = {}
_lock = threading.Lock()


def copies_of(worker: str) -> Copies:
    """What ``worker``'s records were in this process (kept across invocations)."""
    with _lock:
        return _copies.setdefault(worker, Copies())


def forget() -> None:
    """Forget every worker's copies (a new process starts so; tests start each so)."""
    with _lock:
        _copies.clear()
