"""``sluice work``'s runner when SQS or the lease store fails it, and what it reports: every
failure a warning naming what was lost, and the figures in the units its log lines say."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from sluice.container import runner as runner_module
from sluice.container.runner import RunContext, Runner
from sluice.runtime.idempotency import Held
from sluice.runtime.queues import SOURCE_QUEUE
from tests.conftest import Pipeline
from tests.functional.test_work_runner import (
    GATE,
    QUEUE,
    RAN,
    STARTED,
    Sqs,
    _fresh_worker_state,  # noqa: F401 (an autouse fixture: each test starts with none run)
    _left,
    _lines,
    _received,
    _runner,
    _running,
    _send,
    _until,
)


class Faulty:
    """The real SQS client, but for the calls named in ``fail``, which raise, and
    ``refuse_deletes``, which makes SQS refuse every entry of a delete."""

    def __init__(self, sqs: Any, *fail: str, refuse_deletes: bool = False) -> None:
        self._sqs = sqs
        self._fail = set(fail)
        self._refuse_deletes = refuse_deletes

    def __getattr__(self, name: str) -> Any:
        if name in self._fail:
            return self._raise
        if name == "delete_message_batch" and self._refuse_deletes:
            return self._refuse
        return getattr(self._sqs, name)

    def _raise(self, **request: Any) -> Any:
        raise ConnectionError("sqs is unreachable")

    def _refuse(self, Entries: list[dict[str, Any]], **request: Any) -> Any:
        return {"Failed": [{"Id": e["Id"], "Code": "InternalError"} for e in Entries]}


class Leases:
    """A lease store whose answers the test gives: per key, a ``Held`` or an exception; a
    ``Held`` given as ``(answer, context)`` also drops the key from the context first, as
    the engine does when the record completes while its extension is in flight."""

    def __init__(self, answers: dict[str, Any] | None = None, abandon: Any = 0) -> None:
        self.answers = answers or {}
        self.extended: list[tuple[str, str, int]] = []
        self.abandoned: list[dict[str, str]] = []
        self._abandon = abandon

    def extend(self, key: str, owner: str, until_ms: int) -> Held:
        self.extended.append((key, owner, until_ms))
        answer = self.answers[key]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, tuple):
            answer, context = answer
            context.sluice_claims.pop(key)
        return answer  # type: ignore[no-any-return]

    def abandon(self, leases: dict[str, str]) -> int:
        self.abandoned.append(dict(leases))
        if isinstance(self._abandon, Exception):
            raise self._abandon
        return int(self._abandon)


def _clock(monkeypatch: pytest.MonkeyPatch, **fixed: Any) -> None:
    """The runner's clock: the real one, but for the functions given."""
    clock = {"time": time.time, "monotonic": time.monotonic, "perf_counter": time.perf_counter}
    monkeypatch.setattr(runner_module, "time", SimpleNamespace(**{**clock, **fixed}))


def _take_in(runner: Runner, messages: list[dict[str, Any]]) -> None:
    """What a receiver does with what it received: slots taken, in flight, tracked."""
    assert runner._slots.take(len(messages), timeout=0) == len(messages)
    runner._accept(messages)


def _draining(runner: Runner, messages: list[dict[str, Any]]) -> bool:
    """SIGTERM with ``messages`` received and still running; then the drain, its answer."""
    runner.stop()
    _take_in(runner, messages)
    runner.heartbeat.start()
    for thread in runner._receivers:
        thread.start()
    return runner._drain()


def _receive_times(pipeline: Pipeline, url: str, count: int) -> list[dict[str, Any]]:
    """The one message on ``url``, received ``count`` times (made visible again between)."""
    for _ in range(count - 1):
        [message] = _received(pipeline, url)
        pipeline.clients.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return _received(pipeline, url)


def test_the_drain_requeues_a_message_on_its_last_receive_as_a_fresh_copy(
    pipeline: Pipeline,
) -> None:
    # GIVEN a message received as many times as its queue allows before the DLQ
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    [sent] = _send(pipeline, url, "a")
    runner = _runner(pipeline, url, drain_s=0.2)
    assert runner.max_receives
    taken = _receive_times(pipeline, url, runner.max_receives)
    # WHEN the drain hands it back unfinished
    assert _draining(runner, taken) is False
    # THEN a fresh copy is on the queue, received once so far, and the original is gone
    [copy] = _received(pipeline, url)
    assert copy["MessageId"] != taken[0]["MessageId"]
    assert json.loads(copy["Body"])["id"] == sent.id
    assert copy["Attributes"]["ApproximateReceiveCount"] == "1"
    assert _lines(pipeline, "work stopped")[0]["handed_back"] == 1


def test_a_refused_requeue_is_warned_and_the_message_handed_back_as_it_is(
    pipeline: Pipeline,
) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "a")
    runner = _runner(pipeline, url, Faulty(pipeline.clients.sqs, "send_message"), drain_s=0.2)
    assert runner.max_receives
    taken = _receive_times(pipeline, url, runner.max_receives)
    assert _draining(runner, taken) is False
    [warning] = _lines(pipeline, "could not requeue; handed back instead")
    assert warning["error"] == "ConnectionError: sqs is unreachable"
    assert _left(pipeline, url) == (1, 0), (
        "the original, visible again (its next receive is its last)"
    )
    assert _lines(pipeline, "work stopped")[0]["handed_back"] == 1


def test_a_failed_hand_back_is_warned_and_nothing_is_counted_handed_back(
    pipeline: Pipeline,
) -> None:
    # GIVEN a drain whose hand-back SQS refuses
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "a")
    sqs = Faulty(pipeline.clients.sqs, "change_message_visibility_batch")
    runner = _runner(pipeline, url, sqs, drain_s=0.2)
    # WHEN it ends with a record unfinished
    assert _draining(runner, _received(pipeline, url)) is False
    # THEN it says so, and counts none handed back (the record comes back with its visibility)
    [warning] = _lines(pipeline, "records not handed back")
    assert warning["error"] == "ConnectionError: sqs is unreachable"
    [stopped] = _lines(pipeline, "work stopped")
    assert (stopped["records_in_flight"], stopped["handed_back"]) == (1, 0)
    assert _left(pipeline, url) == (0, 1)


def test_claims_the_drain_cannot_give_up_are_warned_and_the_record_still_handed_back(
    pipeline: Pipeline,
) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "a")
    runner = _runner(pipeline, url, drain_s=0.2)
    runner.store = Leases(abandon=ConnectionError("dynamodb is unreachable"))  # type: ignore[assignment]
    taken = _received(pipeline, url)
    context = RunContext(runner, [taken[0]["ReceiptHandle"]])
    context.sluice_claims["worked#a"] = "me"
    runner._running.add(context)
    assert _draining(runner, taken) is False
    [warning] = _lines(pipeline, "claims not abandoned")
    assert warning["error"] == "ConnectionError: dynamodb is unreachable"
    assert _lines(pipeline, "claims abandoned") == []
    assert _left(pipeline, url) == (1, 0)


def test_a_drain_holding_no_claims_gives_up_none(pipeline: Pipeline) -> None:
    # GIVEN an unfinished record whose batch holds no lease (it had not claimed one yet)
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "a")
    runner = _runner(pipeline, url, drain_s=0.2)
    store = Leases()
    runner.store = store  # type: ignore[assignment]
    taken = _received(pipeline, url)
    runner._running.add(RunContext(runner, [taken[0]["ReceiptHandle"]]))
    # WHEN the drain hands it back, THEN the lease store is not asked to give anything up
    assert _draining(runner, taken) is False
    assert store.abandoned == []
    assert _lines(pipeline, "claims abandoned") == []
    assert _left(pipeline, url) == (1, 0)


def test_a_delete_sqs_refuses_is_warned_by_message_id_and_the_batch_still_ends(
    pipeline: Pipeline,
) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "a")
    runner = _runner(pipeline, url, Faulty(pipeline.clients.sqs, refuse_deletes=True))
    taken = _received(pipeline, url)
    _take_in(runner, taken)
    runner._process(taken)
    assert RAN == ["a"]
    [warning] = _lines(pipeline, "delete failed")
    assert warning["message_id"] == taken[0]["MessageId"]
    assert (runner.in_flight, runner.heartbeat.held(), runner._running) == (0, [], set())


def test_a_batch_that_cannot_be_settled_is_logged_and_left_to_sqs(pipeline: Pipeline) -> None:
    # GIVEN a batch whose deletes raise
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "a")
    runner = _runner(pipeline, url, Faulty(pipeline.clients.sqs, "delete_message_batch"))
    taken = _received(pipeline, url)
    _take_in(runner, taken)
    # WHEN it runs
    runner._process(taken)
    # THEN the failure is logged, and the message is neither tracked nor kept for the drain:
    # SQS delivers it again after its visibility timeout
    [line] = _lines(pipeline, "batch could not be settled; SQS delivers it again")
    assert line["level"] == "ERROR"
    assert (runner.heartbeat.held(), runner._messages, runner.in_flight) == ([], {}, 0)
    assert runner.batches == 1
    assert _left(pipeline, url) == (0, 1)


def test_each_batch_is_counted_and_leaves_nothing_in_flight(pipeline: Pipeline) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "a", "b")
    runner = _runner(pipeline, url)
    for message in _received(pipeline, url):
        _take_in(runner, [message])
        runner._process([message])
    assert sorted(RAN) == ["a", "b"]
    assert (runner.batches, runner._running, runner._messages) == (2, set(), {})


def test_delivery_and_invocation_times_are_logged_in_rounded_milliseconds(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a message sent 1234.56 ms before the runner's clock, and a batch that takes
    # 12.3456 ms by its performance counter
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "a")
    runner = _runner(pipeline, url)
    taken = _received(pipeline, url)
    sent_ms = int(taken[0]["Attributes"]["SentTimestamp"])
    ticks = iter([100.0, 100.0123456])
    _clock(monkeypatch, time=lambda: (sent_ms + 1234.56) / 1000, perf_counter=lambda: next(ticks))
    _take_in(runner, taken)
    # WHEN it runs
    runner._process(taken)
    # THEN the delivery says it queued 1234.6 ms, and the invocation that it took 12.35 ms
    [delivered] = _lines(pipeline, "queue delivered")
    assert delivered["queued_ms"] == 1234.6
    [end] = _lines(pipeline, "invocation end")
    assert end["duration_ms"] == 12.35


def test_the_heartbeat_warns_through_the_runner_log(pipeline: Pipeline) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    runner = _runner(pipeline, url, Faulty(pipeline.clients.sqs, "change_message_visibility_batch"))
    runner.heartbeat.track(["h1"])
    runner.heartbeat.beat()
    [warning] = _lines(pipeline, "visibility heartbeat failed")
    assert warning["error"] == "ConnectionError: sqs is unreachable"


def test_each_lease_is_renewed_to_the_visibility_end_and_each_loss_counted_and_warned(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a batch in flight holding six leases: one whose extension fails, one still
    # held, three taken over by copies, and one the engine lets go as its extension runs
    runner = _runner(pipeline, pipeline.fresh_queue(QUEUE, "work-faults"))
    context = RunContext(runner, ["h1"])
    keys = ("failing", "held", "lost-1", "lost-2", "lost-3", "done")
    context.sluice_claims.update({f"worked#{k}": "me" for k in keys})
    answers: dict[str, Any] = {
        "worked#failing": ConnectionError("dynamodb is unreachable"),
        "worked#held": Held.HELD,
        "worked#done": (Held.COMPLETED, context),
        **{f"worked#lost-{i}": Held.LOST for i in (1, 2, 3)},
    }
    store = Leases(answers)
    runner.store = store  # type: ignore[assignment]
    runner._running.add(context)
    runner.heartbeat.track(["h1"])
    _clock(monkeypatch, time=lambda: 1_800_000_000.5)
    # WHEN the heartbeat renews them
    runner._renew_leases()
    # THEN every lease was asked to run one visibility timeout (30 s) from now, the failed
    # one included, and kept; the lost ones are dropped, counted and each warned
    assert store.extended == [(f"worked#{k}", "me", 1_800_000_030_500) for k in keys]
    assert context.sluice_claims == {"worked#failing": "me", "worked#held": "me"}
    assert runner.leases_lost == 3
    [failed] = _lines(pipeline, "lease not extended")
    assert failed["error"] == "ConnectionError: dynamodb is unreachable"
    lost = _lines(pipeline, "lease lost; its completion will be refused")
    assert [line["key"] for line in lost] == [f"worked#lost-{i}" for i in (1, 2, 3)]


def test_a_batch_started_in_a_drain_its_whole_timeout_fits_is_given_the_drain(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = _runner(pipeline, pipeline.fresh_queue(QUEUE, "work-faults"))
    timeout_ms = runner.spec.timeout_s * 1000
    runner.settings = runner_module.WorkSettings(drain_s=runner.spec.timeout_s)
    _clock(monkeypatch, monotonic=lambda: 5_000.0)
    runner.stop()
    assert runner.remaining_ms() == timeout_ms


def test_the_runner_reports_its_figures_every_round_while_it_runs(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "REPORT_S", 0.05)
    runner = _runner(pipeline, pipeline.fresh_queue(QUEUE, "work-faults"))
    with _running(runner):
        _until(lambda: len(_lines(pipeline, "work metrics")) >= 2)


def test_after_an_empty_receive_the_runner_keeps_receiving(pipeline: Pipeline) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    runner = _runner(pipeline, url)
    with _running(runner):
        time.sleep(0.3)  # some empty receives
        _send(pipeline, url, "a")
        _until(lambda: RAN == ["a"])


def test_a_runner_whose_slots_were_all_busy_receives_again_once_one_frees(
    pipeline: Pipeline,
) -> None:
    # GIVEN a runner of one slot, busy past a receiver's wait for it (0.5 s)
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "slow")
    runner = _runner(pipeline, url, concurrency=1)
    with _running(runner):
        assert STARTED.wait(10)
        _send(pipeline, url, "a")
        time.sleep(1.2)
        # WHEN the slot frees, THEN the next message is received and run
        GATE.set()
        _until(lambda: RAN == ["slow", "a"])


def test_a_free_slot_is_used_while_another_record_runs(pipeline: Pipeline) -> None:
    # GIVEN a runner of two slots, one held by a record that runs until the gate opens
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "slow")
    runner = _runner(pipeline, url, concurrency=2)
    with _running(runner):
        assert STARTED.wait(10)
        # WHEN another message arrives, THEN it runs at once, beside the long one
        _send(pipeline, url, "a")
        _until(lambda: RAN == ["a"])
        GATE.set()


def test_after_sigterm_a_receiver_waiting_for_a_slot_receives_nothing_more(
    pipeline: Pipeline,
) -> None:
    # GIVEN a runner of one slot, busy, with another message waiting
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    _send(pipeline, url, "slow")
    sqs = Sqs(pipeline.clients.sqs)
    runner = _runner(pipeline, url, sqs, concurrency=1, drain_s=5.0)
    answer: dict[str, bool] = {}
    thread = threading.Thread(target=lambda: answer.setdefault("clean", runner.run()))
    thread.start()
    assert STARTED.wait(10)
    _send(pipeline, url, "a")
    # WHEN SIGTERM comes, and the slot frees only once the receiver has seen it
    runner.stop()
    receives = len(sqs.receives)
    time.sleep(1.5)
    GATE.set()
    thread.join(20)
    time.sleep(0.3)
    # THEN no receive was made after it: the waiting message is still on the queue, not run
    assert answer == {"clean": True}
    assert len(sqs.receives) == receives
    assert RAN == ["slow"]
    assert _left(pipeline, url) == (1, 0)


def test_a_dead_letter_from_the_runner_names_its_source_queue_by_arn(pipeline: Pipeline) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-faults")
    pipeline.clients.sqs.send_message(QueueUrl=url, MessageBody="not an envelope")
    runner = _runner(pipeline, url)
    taken = _received(pipeline, url)
    _take_in(runner, taken)
    runner._process(taken)
    policy = pipeline.clients.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["RedrivePolicy", "QueueArn"]
    )["Attributes"]
    dlq = pipeline.clients.sqs.get_queue_url(
        QueueName=json.loads(policy["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[-1]
    )["QueueUrl"]
    letters = pipeline.clients.sqs.receive_message(
        QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    sources = {m["MessageAttributes"][SOURCE_QUEUE]["StringValue"] for m in letters}
    assert policy["QueueArn"] in sources
