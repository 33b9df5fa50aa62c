"""Where order holds (FIFO groups, a stream's shard), a failure holds back the rest of its group."""

from __future__ import annotations

import threading
import uuid

from sluice.runtime.engine.jobs import Job, Outcome
from sluice.runtime.engine.ordering import before_first_failure, run_concurrently, run_records
from sluice.runtime.records import Inbound
from sluice.runtime.spec import Source, WorkerSpec

FIFO = WorkerSpec(
    name="ordered", module="tests", source=Source.FIFO_QUEUE, subscribes=None, group_by="account"
)
STREAM = WorkerSpec(name="ordered", module="tests", source=Source.STREAM, subscribes=None)


def _job(item_id: str, group: str | None = None) -> Job:
    return Job(Inbound(item_id=item_id, raw={}, source_arn="arn", group_id=group))


class Run:
    """Runs a job: ends it as ``outcomes`` say (DONE by default), remembering the order."""

    def __init__(self, **outcomes: Outcome) -> None:
        self.outcomes = outcomes
        self.ran: list[str] = []

    def __call__(self, job: Job) -> None:
        self.ran.append(job.inbound.item_id)
        job.end(self.outcomes.get(job.inbound.item_id, Outcome.DONE), "ran")


def _ends(jobs: list[Job]) -> list[tuple[str, Outcome, str, str]]:
    return [(j.inbound.item_id, j.outcome, j.reason, j.detail) for j in jobs]


def test_a_retry_in_a_fifo_group_holds_back_every_later_record_of_that_group_only() -> None:
    jobs = [_job("a1", "A"), _job("b1", "B"), _job("a2", "A"), _job("a3", "A"), _job("b2", "B")]
    run = Run(a1=Outcome.RETRY)
    run_records(FIFO, run, jobs, jobs)
    assert sorted(run.ran) == ["a1", "b1", "b2"]
    assert _ends(jobs) == [
        ("a1", Outcome.RETRY, "ran", ""),
        ("b1", Outcome.DONE, "ran", ""),
        ("a2", Outcome.RETRY, "group_blocked", "after a1"),
        ("a3", Outcome.RETRY, "group_blocked", "after a1"),
        ("b2", Outcome.DONE, "ran", ""),
    ]


def test_a_failure_in_the_middle_of_a_group_blocks_only_what_follows_it() -> None:
    jobs = [_job("a1", "A"), _job("a2", "A"), _job("a3", "A")]
    run_records(FIFO, Run(a2=Outcome.RETRY), jobs, jobs)
    assert [j.outcome for j in jobs] == [Outcome.DONE, Outcome.RETRY, Outcome.RETRY]
    assert (jobs[2].reason, jobs[2].detail) == ("group_blocked", "after a2")


def test_a_permanent_failure_goes_to_the_dlq_before_its_group_goes_on() -> None:
    jobs = [_job("a1", "A"), _job("a2", "A"), _job("b1", "B")]
    lettered: list[str] = []

    def dead_letter(job: Job) -> None:
        lettered.append(job.inbound.item_id)
        job.dead_lettered = True

    run = Run(a1=Outcome.PERMANENT)
    run_records(FIFO, run, jobs, jobs, dead_letter=dead_letter)
    assert lettered == ["a1"], "only the permanent failure is dead-lettered"
    assert sorted(run.ran) == ["a1", "a2", "b1"], "a permanent failure does not block its group"


def test_without_a_dead_letter_step_a_stream_goes_on_after_a_permanent_failure() -> None:
    jobs = [_job("1"), _job("2"), _job("3")]
    run = Run(**{"2": Outcome.PERMANENT})
    run_records(STREAM, run, jobs, jobs)
    assert run.ran == ["1", "2", "3"]


def test_a_shard_runs_nothing_after_its_first_failure() -> None:
    jobs = [_job("1"), _job("2"), _job("3"), _job("4")]
    jobs[1].end(Outcome.RETRY, "undecodable")
    assert before_first_failure(jobs) == jobs[:1]
    assert _ends(jobs)[2:] == [
        ("3", Outcome.RETRY, "after_failure", "after 2"),
        ("4", Outcome.RETRY, "after_failure", "after 2"),
    ]
    assert jobs[0].outcome is Outcome.PENDING, "what comes before still runs"


def test_a_shard_without_failure_runs_whole() -> None:
    jobs = [_job("1"), _job("2")]
    assert before_first_failure(jobs) == jobs


def test_a_workers_threads_are_named_after_it_in_a_thread_dump() -> None:
    # a fresh name: nothing known of its pace, so its first batch goes to its pool
    name = f"named-{uuid.uuid4().hex[:8]}"
    spec = WorkerSpec(name=name, module="tests", source=Source.SQS_QUEUE, subscribes=None)
    ran: set[str] = set()

    def run_one(job: Job) -> None:
        ran.add(threading.current_thread().name)
        job.end(Outcome.DONE)

    run_concurrently(spec, run_one, [_job(f"m{n}") for n in range(4)])
    pooled = ran - {threading.current_thread().name}
    assert pooled
    assert all(thread.startswith(f"{name}_") for thread in pooled), pooled
