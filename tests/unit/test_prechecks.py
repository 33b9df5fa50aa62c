"""When a batch is worth a precheck: the arithmetic of ``sluice.runtime.engine.prechecks``.

The engine-level behaviour (copies turn it on, new batches turn it off) is in
tests/functional/test_transact_only.py.
"""

from __future__ import annotations

import pytest

from sluice.runtime.engine.jobs import Job, Outcome
from sluice.runtime.engine.prechecks import (
    Copies,
    copies_among,
    copies_of,
    forget,
    missed_cost,
)
from sluice.runtime.records import Inbound


def test_a_missed_copy_costs_a_write_unit_for_a_claim_and_two_items_of_a_transaction() -> None:
    # on demand a write unit is 5 read units; a refused transaction of effect + completion
    # is 2 items at 2 write units each
    assert missed_cost(transact_only=False) == 5.0
    assert missed_cost(transact_only=True) == 20.0


@pytest.mark.parametrize(
    ("share", "missed", "worth"),
    [
        (0.0, 20.0, False),  # nothing known: no precheck
        (0.2, 5.0, True),  # 0.2 x 5 = one read: worth it, just
        (0.19, 5.0, False),
        (0.05, 20.0, True),  # 0.05 x 20 = one read
        (0.049, 20.0, False),
        (1.0, 1.0, True),
    ],
)
def test_a_precheck_is_worth_it_while_the_copies_it_finds_pay_for_its_read(
    share: float, missed: float, worth: bool
) -> None:
    assert Copies(share).worth_a_read(missed) is worth


def test_each_batch_moves_the_share_a_fifth_of_the_way_to_its_own() -> None:
    copies = Copies()
    copies.saw(10, 10)
    assert copies.share == pytest.approx(0.2)
    copies.saw(0, 10)
    assert copies.share == pytest.approx(0.16)
    copies.saw(5, 10)
    assert copies.share == pytest.approx(0.16 + 0.2 * (0.5 - 0.16))


def test_a_batch_with_no_records_leaves_the_share_alone() -> None:
    copies = Copies(0.5)
    copies.saw(0, 0)
    assert copies.share == 0.5


def test_after_one_batch_of_copies_a_transact_only_worker_prechecks_seven_batches() -> None:
    # 0.2 x 0.8^n x 20 >= 1 holds for n = 0..6: the precheck stays on while copies may follow
    copies = Copies()
    copies.saw(10, 10)
    on = 0
    while copies.worth_a_read(missed_cost(transact_only=True)):
        on += 1
        copies.saw(0, 10)
    assert on == 7


def _job(outcome: Outcome, reason: str = "") -> Job:
    job = Job(Inbound(item_id="m", raw={}, source_arn="arn"))
    job.outcome, job.reason = outcome, reason
    return job


def test_copies_are_duplicates_and_records_held_elsewhere_among_those_looked_at() -> None:
    jobs = [
        _job(Outcome.DUPLICATE),
        _job(Outcome.RETRY, "in_progress"),
        _job(Outcome.RETRY, "unhandled_exception"),
        _job(Outcome.DONE),
        _job(Outcome.PERMANENT, "business_rule"),
        _job(Outcome.SKIPPED, "timeout_margin"),  # never looked at: counts for nothing
    ]
    assert copies_among(jobs) == (2, 5)
    assert copies_among([]) == (0, 0)


def test_each_worker_keeps_its_own_copies_until_forgotten() -> None:
    forget()
    mine = copies_of("mine")
    mine.saw(1, 1)
    assert copies_of("mine") is mine
    assert copies_of("other").share == 0.0
    forget()
    assert copies_of("mine").share == 0.0
