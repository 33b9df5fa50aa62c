"""``sluice work``'s runner in-process on moto: what it owes the ECS agent over a long job."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from events import CATALOG, ORDER_PLACED
from sluice.container.health import HealthFile
from sluice.container.protection import ScaleInProtection
from sluice.container.runner import RunContext, Runner, WorkSettings
from sluice.core import Envelope
from sluice.runtime import RetryableError, worker
from sluice.runtime.idempotency import Claim
from sluice.runtime.sqs_event import RECEIVE_ATTRIBUTES
from tests.conftest import Pipeline
from tests.factories import placed
from tests.functional.test_claims import _now_ms, _store, set_owner
from tests.functional.test_metrics import emf_documents

QUEUE = "sluice-inventory"


def test_scale_in_protection_is_renewed_while_a_record_stays_in_flight(
    pipeline: Pipeline,
) -> None:
    # finding 5: protection was set on the idle->busy edge only, so a record running past
    # its expiry (60 min) could be scaled in mid-job
    wired = pipeline.registry.get("inventory").use(pipeline.deps("inventory"))
    protection = ScaleInProtection("http://127.0.0.1:9/v3/task", expires_min=60)
    calls: list[bool] = []
    protection._put = lambda enabled: calls.append(enabled) or True  # type: ignore[method-assign]
    runner = Runner(
        wired,
        pipeline.clients.sqs,
        pipeline.url(QUEUE),
        region=os.environ["AWS_DEFAULT_REGION"],
        protection=protection,
    )
    # GIVEN one record in flight, protected as it started
    runner._busy(1)
    assert calls == [True]
    runner.tick()
    assert calls == [True], "a fresh protection is not renewed"
    # WHEN more than half its expiry has passed with the record still running
    protection._since -= 31 * 60
    runner.tick()
    # THEN the next round renews it; once idle, it is released
    assert calls == [True, True]
    runner._busy(-1)
    assert calls == [True, True, False]
    runner.tick()
    assert calls == [True, True, False]


def test_the_heartbeat_renews_only_leases_still_held_and_under_the_cap(
    pipeline: Pipeline,
) -> None:
    # GIVEN three batches in flight: one whose lease is still its own, one whose lease a copy
    # took over, and one whose messages the heartbeat let go at the cap
    wired = pipeline.registry.get("inventory").use(pipeline.deps("inventory"))
    runner = Runner(
        wired, pipeline.clients.sqs, pipeline.url(QUEUE), region=os.environ["AWS_DEFAULT_REGION"]
    )
    store = _store(pipeline)
    soon = _now_ms() + 1_000
    contexts = []
    for name, handle in (("held", "h1"), ("taken", "h2"), ("capped", "h3")):
        store.claim(f"inventory#{name}", "me", soon)
        context = RunContext(runner, [handle])
        context.sluice_claims[f"inventory#{name}"] = "me"
        contexts.append(context)
        runner._running.add(context)
    set_owner(pipeline, "inventory#taken", "copy")  # a copy took it over
    runner.heartbeat.track(["h1", "h2"])
    # WHEN the heartbeat renews
    runner._renew_leases()
    # THEN the held lease runs a visibility timeout more, the taken one is dropped and
    # counted, and the capped one is left to lapse with its messages
    assert _expiry(pipeline, "inventory#held") >= _now_ms() + (runner.visibility_s - 2) * 1000
    assert runner.leases_lost == 1
    assert contexts[1].sluice_claims == {}
    assert _expiry(pipeline, "inventory#capped") == soon
    assert contexts[0].sluice_claims == {"inventory#held": "me"}


def _expiry(pipeline: Pipeline, key: str) -> int:
    item = pipeline.clients.dynamodb.get_item(
        TableName=pipeline.topology.table("idempotency"), Key={"id": {"S": key}}
    )["Item"]
    return int(item["in_progress_expiry"]["N"])


REGION = os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")
RAN: list[str] = []
STARTED = threading.Event()
GATE = threading.Event()


@worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="worked")
def worked(event: Envelope[Any]) -> None:
    """Runs an order: "retry" fails for now, "slow" waits for the gate."""
    if event.data.order_id == "retry":
        raise RetryableError("not yet")
    if event.data.order_id == "slow":
        STARTED.set()
        GATE.wait(10)
    RAN.append(event.data.order_id)


@pytest.fixture(autouse=True)
def _fresh_worker_state() -> Iterator[None]:
    RAN.clear()
    STARTED.clear()
    GATE.clear()
    yield
    GATE.set()  # never leave a worker thread waiting past its test


class Sqs:
    """The real client, recording receives; the first ``fail_receives`` of them raise."""

    def __init__(self, sqs: Any, fail_receives: int = 0) -> None:
        self._sqs = sqs
        self.fail_receives = fail_receives
        self.receives: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def receive_message(self, **request: Any) -> Any:
        self.receives.append(request)
        if len(self.receives) <= self.fail_receives:
            raise ConnectionError("sqs is unreachable")
        return self._sqs.receive_message(**request)


def _send(pipeline: Pipeline, url: str, *order_ids: str) -> list[Envelope[Any]]:
    envelopes = [placed(order_id) for order_id in order_ids]
    for envelope in envelopes:
        pipeline.clients.sqs.send_message(QueueUrl=url, MessageBody=envelope.to_json())
    return envelopes


def _runner(pipeline: Pipeline, url: str, sqs: Any = None, **settings: Any) -> Runner:
    options = {"concurrency": 10, "wait_s": 0, "drain_s": 2.0, **settings}
    return Runner(
        worked.use(pipeline.deps("worked")),
        sqs or pipeline.clients.sqs,
        url,
        region=REGION,
        settings=WorkSettings(**options),
    )


def _lines(pipeline: Pipeline, message: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    return [line for line in lines if line["message"] == message]


def _left(pipeline: Pipeline, url: str) -> tuple[int, int]:
    """(visible, in flight) messages on the queue."""
    attrs = pipeline.clients.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
    )


def _until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@contextmanager
def _running(runner: Runner) -> Iterator[dict[str, bool]]:
    """``run()`` on a thread; stopped (SIGTERM) and joined on leaving; its answer in "clean"."""
    answer: dict[str, bool] = {}
    thread = threading.Thread(target=lambda: answer.setdefault("clean", runner.run()), daemon=True)
    thread.start()
    try:
        yield answer
    finally:
        runner.stop()
        thread.join(timeout=20)
        assert not thread.is_alive()


def _received(pipeline: Pipeline, url: str) -> list[dict[str, Any]]:
    answer = pipeline.clients.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, **RECEIVE_ATTRIBUTES
    )
    return list(answer.get("Messages", []))


def test_the_runner_runs_what_it_receives_deletes_it_and_stops_clean(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # GIVEN three orders on a queue, and a runner of 25 in flight with its health file and
    # scale-in protection
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    envelopes = _send(pipeline, url, "a", "b", "c")
    runner = _runner(pipeline, url, concurrency=25)
    runner.health = HealthFile(tmp_path / "healthy")
    protection = ScaleInProtection("http://127.0.0.1:9/v3/task")
    edges: list[bool] = []
    protection._put = lambda enabled: edges.append(enabled) or True  # type: ignore[method-assign]
    runner.protection = protection
    # WHEN it runs until all three ran, then gets SIGTERM
    with _running(runner) as answer:
        _until(lambda: len(RAN) == 3 and runner.in_flight == 0)
    # THEN it stopped clean, with every message deleted
    assert answer == {"clean": True}
    assert sorted(RAN) == ["a", "b", "c"]
    assert _left(pipeline, url) == (0, 0)
    assert (tmp_path / "healthy").exists()
    assert edges[0] is True and edges[-1] is False
    # AND it logged its start, each delivery (sluice trace's hop), each batch and its stop
    [started] = _lines(pipeline, "work started")
    assert (started["queue"], started["receivers"], started["concurrency"]) == (url, 3, 25)
    assert started["visibility_s"] == 30
    delivered = _lines(pipeline, "queue delivered")
    assert sorted(d["correlation_id"] for d in delivered) == sorted(
        e.correlation_id for e in envelopes
    )
    assert {(d["queue"], d["receive_count"]) for d in delivered} == {(url.rsplit("/", 1)[-1], 1)}
    assert all(d["message_id"] and d["queued_ms"] >= 0 for d in delivered)
    assert all(abs(d["sent_ts"] - time.time()) < 60 for d in delivered)
    ends = _lines(pipeline, "invocation end")
    assert (sum(e["records"] for e in ends), sum(e["failed"] for e in ends)) == (3, 0)
    assert sorted(c for e in ends for c in e["settled"]) == sorted(
        e.correlation_id for e in envelopes
    )
    [stopped] = _lines(pipeline, "work stopped")
    assert (stopped["records_in_flight"], stopped["handed_back"]) == (0, 0)
    assert _lines(pipeline, "work metrics")[-1]["in_flight"] == 0


def test_a_receive_asks_for_no_more_records_than_free_slots_and_polls_at_most_the_drain(
    pipeline: Pipeline,
) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    _send(pipeline, url, "a")
    sqs = Sqs(pipeline.clients.sqs)
    runner = _runner(pipeline, url, sqs, concurrency=4, wait_s=20, drain_s=1.5)
    assert len(runner._receivers) == 1
    assert [json.loads(m["Body"])["data"]["order_id"] for m in runner._receive(4)] == ["a"]
    assert sqs.receives == [
        {"QueueUrl": url, "MaxNumberOfMessages": 4, "WaitTimeSeconds": 1, **RECEIVE_ATTRIBUTES}
    ]


def test_a_failed_receive_is_warned_and_the_runner_keeps_receiving(pipeline: Pipeline) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    _send(pipeline, url, "a")
    runner = _runner(pipeline, url, Sqs(pipeline.clients.sqs, fail_receives=1))
    with _running(runner) as answer:
        _until(lambda: RAN == ["a"] and runner.in_flight == 0)
    assert answer == {"clean": True}
    [warning] = _lines(pipeline, "receive failed")
    assert warning["error"] == "ConnectionError: sqs is unreachable"
    assert _left(pipeline, url) == (0, 0)


def test_a_record_that_fails_is_left_to_the_backoff_and_its_neighbour_is_deleted(
    pipeline: Pipeline,
) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    _send(pipeline, url, "a", "retry")
    runner = _runner(pipeline, url)
    taken = _received(pipeline, url)
    assert len(taken) == 2
    for _ in taken:
        assert runner._slots.take(1, timeout=0) == 1
    runner._accept(taken)
    assert runner.in_flight == 2 and sorted(runner.heartbeat.held()) == sorted(
        m["ReceiptHandle"] for m in taken
    )
    runner._process(taken)
    assert RAN == ["a"]
    assert (runner.in_flight, runner.heartbeat.held(), runner.batches) == (0, [], 1)
    assert _left(pipeline, url) == (0, 1), "the failed one waits out its backoff"
    [end] = _lines(pipeline, "invocation end")
    assert (end["records"], end["failed"], len(end["settled"])) == (2, 1, 1)
    assert runner._slots.take(10, timeout=0) == 10, "every place is free again"


def test_a_batch_frees_its_places_once_it_ran_before_its_deletes_go_out(
    pipeline: Pipeline,
) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    _send(pipeline, url, "a", "b")
    free_at_delete: list[int] = []

    class Deleting(Sqs):
        def delete_message_batch(self, **request: Any) -> Any:
            free_at_delete.append(runner._slots.free)
            return self._sqs.delete_message_batch(**request)

    runner = _runner(pipeline, url, Deleting(pipeline.clients.sqs), concurrency=2)
    taken = _received(pipeline, url)
    assert runner._slots.take(2, timeout=0) == 2
    runner._accept(taken)
    runner._process(taken)
    # THEN the next receive could take both places while the batch was being deleted, and
    # the records stayed in flight (drain, scale-in protection) until deleted
    assert free_at_delete == [2]
    assert (runner.in_flight, runner._slots.free, _left(pipeline, url)) == (0, 2, (0, 0))


def test_retried_records_come_back_after_their_backoff_not_the_visibility_timeout(
    pipeline: Pipeline,
) -> None:
    # GIVEN twelve records received once, each of which fails for now
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    _send(pipeline, url, *["retry"] * 12)
    runner = _runner(pipeline, url, concurrency=12)
    taken = _received(pipeline, url) + _received(pipeline, url)
    assert len(taken) == 12
    for _ in taken:
        assert runner._slots.take(1, timeout=0) == 1
    runner._accept(taken)
    # WHEN they run
    runner._process(taken)
    # THEN each is back on the queue within the first backoff (1-2 s), long before the
    # queue's 30 s visibility timeout
    assert _left(pipeline, url) == (0, 12)
    _until(lambda: _left(pipeline, url) == (12, 0), timeout_s=6)


class Crashing:
    """A worker whose Lambda entry raises (as a broken deployment would)."""

    def __init__(self, declared: Any) -> None:
        self.spec, self.deps, self.catalog = declared.spec, declared.deps, declared.catalog

    def handler(self, event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("handler crashed")


def test_an_invocation_that_raises_deletes_nothing_and_frees_its_slots(
    pipeline: Pipeline,
) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    _send(pipeline, url, "a")
    runner = Runner(
        Crashing(worked.use(pipeline.deps("worked"))),  # type: ignore[arg-type]
        pipeline.clients.sqs,
        url,
        region=REGION,
        settings=WorkSettings(concurrency=2, wait_s=0),
    )
    taken = _received(pipeline, url)
    assert runner._slots.take(1, timeout=0) == 1
    runner._accept(taken)
    runner._process(taken)
    assert _lines(pipeline, "invocation raised; every record of it will be retried")
    assert _left(pipeline, url) == (0, 1)
    assert (runner.in_flight, runner.heartbeat.held()) == (0, [])
    [end] = _lines(pipeline, "invocation end")
    assert (end["records"], end["failed"], end["settled"]) == (1, 1, [])


def test_the_drain_hands_back_what_cannot_finish_and_gives_up_its_lease(
    pipeline: Pipeline,
) -> None:
    # GIVEN a runner whose one record runs longer than the drain allows
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    [slow] = _send(pipeline, url, "slow")
    runner = _runner(pipeline, url, drain_s=0.5)
    with _running(runner) as answer:
        assert STARTED.wait(10)
    # WHEN the drain is over (the record still running)
    # THEN run() says something was left, and the record is back on the queue at once,
    # its lease given up so that the copy runs now instead of after the lease
    assert answer == {"clean": False}
    [stopped] = _lines(pipeline, "work stopped")
    assert (stopped["records_in_flight"], stopped["handed_back"]) == (1, 1)
    assert _lines(pipeline, "claims abandoned")[0]["claims"] == 1
    [again] = _received(pipeline, url)
    assert json.loads(again["Body"])["id"] == slow.id
    key = f"worked#{slow.id}"
    assert _store(pipeline).claim(key, "copy", _now_ms() + 60_000).claim is Claim.CLAIMED
    # AND the first run, once it ends, deletes nothing (the drain settled its message)
    GATE.set()
    _until(lambda: runner.batches == 1)
    assert _left(pipeline, url) == (0, 1)


def test_while_draining_a_batch_only_starts_if_it_can_finish_in_the_drain(
    pipeline: Pipeline,
) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    runner = _runner(pipeline, url, drain_s=100)
    context = RunContext(runner, [])
    assert context.get_remaining_time_in_millis() == 30_000, "the visibility timeout"
    runner.stop()
    first = context.get_remaining_time_in_millis()
    assert 99_000 < first <= 100_000
    time.sleep(0.2)
    runner.stop()  # a second SIGTERM does not restart the drain
    assert context.get_remaining_time_in_millis() <= first - 150
    short = _runner(pipeline, url, drain_s=float(worked.spec.timeout_s) - 1)
    short.stop()
    assert RunContext(short, []).get_remaining_time_in_millis() == 0


def test_each_report_gives_the_figures_since_the_last_one(pipeline: Pipeline) -> None:
    runner = _runner(pipeline, pipeline.fresh_queue(QUEUE, "work-runner"))
    runner.heartbeat.extensions, runner.heartbeat.released, runner.leases_lost = 5, 2, 1
    runner._busy(3)
    runner.tick()
    runner.heartbeat.extensions += 4
    runner.tick()
    runner.leases_lost += 2
    runner.tick()
    figures = [
        {
            k: line[k]
            for k in (
                "in_flight",
                "heartbeat_extensions",
                "heartbeat_released",
                "leases_lost",
                "protected",
            )
        }
        for line in _lines(pipeline, "work metrics")
    ]
    assert [(f["heartbeat_extensions"], f["leases_lost"]) for f in figures] == [
        (5, 1),
        (4, 0),
        (0, 2),
    ]
    assert {(f["in_flight"], f["heartbeat_released"], f["protected"]) for f in figures} == {
        (3, 2, False)
    }


def test_with_metrics_on_a_report_is_an_emf_document_of_the_worker(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = _runner(pipeline, pipeline.fresh_queue(QUEUE, "work-runner"))
    runner.worker.deps.telemetry.metrics_enabled = True
    runner.heartbeat.extensions, runner.leases_lost = 7, 2
    runner._busy(1)
    capsys.readouterr()
    runner.tick()
    [doc] = emf_documents(capsys.readouterr().out)
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"]) == ("Sluice", [["worker"]])
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "InFlight": "Count",
        "HeartbeatExtensions": "Count",
        "LeasesLost": "Count",
    }
    assert (doc["worker"], doc["InFlight"], doc["HeartbeatExtensions"], doc["LeasesLost"]) == (
        "worked",
        [1.0],
        [7.0],
        [2.0],
    )


def test_each_delivery_is_logged_with_its_receive_count_and_how_long_it_queued(
    pipeline: Pipeline,
) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    _send(pipeline, url, "a")
    runner = _runner(pipeline, url)
    [first] = _received(pipeline, url)
    pipeline.clients.sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    taken = _received(pipeline, url)
    assert runner._slots.take(1, timeout=0) == 1
    runner._accept(taken)
    runner._process(taken)
    [line] = _lines(pipeline, "queue delivered")
    sent_ms = int(taken[0]["Attributes"]["SentTimestamp"])
    assert (line["queue"], line["message_id"], line["receive_count"]) == (
        url.rsplit("/", 1)[-1],
        taken[0]["MessageId"],
        2,
    )
    assert line["sent_ts"] == sent_ms / 1000
    assert 0 <= line["queued_ms"] < 60_000
    assert runner.batches == 1


def test_while_draining_a_record_the_engine_did_not_start_is_left_for_the_hand_back(
    pipeline: Pipeline,
) -> None:
    # GIVEN a runner draining with less time left than a record may take
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    _send(pipeline, url, "a")
    runner = _runner(pipeline, url, drain_s=1.0)
    runner.stop()
    taken = _received(pipeline, url)
    assert runner._slots.take(1, timeout=0) == 1
    runner._accept(taken)
    # WHEN the batch received as the drain began is processed
    runner._process(taken)
    # THEN its record did not run, is still tracked, and not deleted
    assert RAN == []
    assert runner.heartbeat.held() == [taken[0]["ReceiptHandle"]]
    assert _left(pipeline, url) == (0, 1)
    # AND the drain hands it back at once and says something was left unfinished
    runner.heartbeat.start()
    for thread in runner._receivers:
        thread.start()
    assert runner._drain() is False
    assert _left(pipeline, url) == (1, 0)
    assert _lines(pipeline, "work stopped")[0]["handed_back"] == 1


@worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="small", batch_size=4)
def small(event: Envelope[Any]) -> None:
    """Takes four records a batch."""


@worker(
    catalog=CATALOG, subscribes=[ORDER_PLACED], name="large", batch_size=20, batching_window_s=1
)
def large(event: Envelope[Any]) -> None:
    """Takes twenty records a batch."""


@pytest.mark.parametrize(("declared", "most"), [(small, 4), (large, 10)])
def test_a_receive_asks_for_at_most_a_batch_and_never_more_than_sqs_gives(
    pipeline: Pipeline, declared: Any, most: int
) -> None:
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    sqs = Sqs(pipeline.clients.sqs)
    runner = Runner(
        declared.use(pipeline.deps(declared.spec.name)),
        sqs,
        url,
        region=REGION,
        settings=WorkSettings(concurrency=25, wait_s=0),
    )
    # (the receivers share the 25 slots: one may ask for fewer while the others hold theirs)
    with _running(runner):
        _until(lambda: most in [r["MaxNumberOfMessages"] for r in sqs.receives])
    asked = [r["MaxNumberOfMessages"] for r in list(sqs.receives)]
    assert max(asked) == most and min(asked) >= 1


@worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="lingering", timeout_margin_s=0.5)
def lingering(event: Envelope[Any]) -> None:
    """Starts with a second left, and runs until the gate opens."""
    STARTED.set()
    GATE.wait(30)
    RAN.append(event.data.order_id)


def test_a_record_running_past_the_visibility_timeout_stays_invisible_and_keeps_its_lease(
    pipeline: Pipeline,
) -> None:
    # GIVEN a queue whose messages are invisible for 4 s at a time, and a record that runs
    # for about 9 s. The heartbeat beats every third of the timeout, so the process may stall
    # for two thirds of it (2.7 s here) and still extend in time. A 2 s timeout left 1.3 s:
    # on a loaded 2-core machine, one test process's full garbage collections stopped every
    # thread for up to 1.6 s (measured with gc.callbacks), so the message came back and a
    # copy took the lease, exactly as a real stall past the slack should make it (the
    # original's completion refused and counted).
    url = pipeline.fresh_queue(QUEUE, "work-runner")
    pipeline.clients.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "4"})
    [slow] = _send(pipeline, url, "slow")
    runner = Runner(
        lingering.use(pipeline.deps("lingering")),
        pipeline.clients.sqs,
        url,
        region=REGION,
        settings=WorkSettings(concurrency=2, wait_s=0),
    )
    with _running(runner):
        assert STARTED.wait(10)
        # WHEN it has run past two visibility timeouts
        time.sleep(9)
        # THEN nobody received it again, and a copy could not take its lease
        assert _received(pipeline, url) == []
        copy = _store(pipeline).claim(f"lingering#{slow.id}", "copy", _now_ms() + 60_000)
        assert copy.claim is Claim.IN_PROGRESS
        GATE.set()
        _until(lambda: RAN == ["slow"] and runner.in_flight == 0)
    assert runner.heartbeat.extensions >= 2
    assert _left(pipeline, url) == (0, 0)
