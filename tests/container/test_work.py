"""``sluice work`` as a real process on a real moto server: drain, crash, heartbeat, FIFO.

GIVEN jobs on a queue with a 2 s visibility timeout, WHEN runners are signalled, killed or
run side by side, THEN no message is lost and every effect is applied exactly once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from sluice.core import Envelope
from sluice.target import SANDBOX_REGION
from tests.container.conftest import ROOT, VISIBILITY_S, Work
from tests.container.workapp.events import JOB_REQUESTED

pytestmark = pytest.mark.container


def jobs(count: int, sleep_ms: int, prefix: str = "j") -> list[dict[str, Any]]:
    return [{"job": f"{prefix}{i}", "sleep_ms": sleep_ms} for i in range(count)]


def test_sigterm_mid_batch_finishes_in_flight_and_hands_back_the_rest_at_once(
    work: Work,
) -> None:
    queue, sent = work.queue("jobs"), jobs(40, 400)
    queue.send(sent)
    names = [j["job"] for j in sent]
    runner = work.start("jobs", "--concurrency", "4", "--drain-s", "10")
    work.wait_for(lambda: sum(work.applied(names).values()) >= 4, 30)

    runner.signal(signal.SIGTERM)

    assert runner.wait(timeout=15) == 0
    visible, in_flight = queue.counts()
    done = work.applied(names)
    assert in_flight == 0, "unfinished messages must be visible again at once"
    assert set(done.values()) <= {0, 1}
    assert visible == list(done.values()).count(0), "every unapplied job is back on the queue"
    stopped = [r for r in runner.lines() if r.get("message") == "work stopped"]
    assert stopped and stopped[0]["handed_back"] == 0, "in-flight records finished in time"

    work.start("jobs", "--concurrency", "10")
    work.wait_for(lambda: all(n == 1 for n in work.applied(names).values()), 60)
    work.wait_for(lambda: queue.counts() == (0, 0), 10)
    assert set(work.applied(names).values()) == {1}


def test_sigterm_past_the_drain_deadline_hands_records_in_flight_back(work: Work) -> None:
    queue, sent = work.queue("jobs"), jobs(3, 5000, "slow")
    queue.send(sent)
    runner = work.start("jobs", "--concurrency", "3", "--drain-s", "0.5")
    work.wait_for(lambda: work.effect("start#slow0").get("n", 0) >= 1, 20)

    began = time.monotonic()
    runner.signal(signal.SIGTERM)

    assert runner.wait(timeout=10) == 0
    assert time.monotonic() - began < 4, "the drain deadline bounds the shutdown"
    assert queue.counts() == (3, 0), "the unfinished jobs are visible again at once"
    assert set(work.applied([j["job"] for j in sent]).values()) == {0}


def test_records_given_up_at_the_drain_deadline_run_at_once_elsewhere(work: Work) -> None:
    # GIVEN a queue whose visibility timeout (so each claim's lifetime) is a minute, and
    # three slow jobs running when SIGTERM comes with a drain deadline of half a second
    queue, sent = work.queue("jobs"), jobs(3, 4000, "given-up")
    work.clients.sqs.set_queue_attributes(
        QueueUrl=queue.url, Attributes={"VisibilityTimeout": "60"}
    )
    queue.send(sent)
    names = [j["job"] for j in sent]
    runner = work.start("jobs", "--concurrency", "3", "--drain-s", "0.5")
    work.wait_for(lambda: all(work.effect(f"start#{n}").get("n", 0) for n in names), 20)
    runner.signal(signal.SIGTERM)
    assert runner.wait(timeout=10) == 0
    # THEN their claims were abandoned with them, not left to lapse in a minute
    abandoned = [r for r in runner.lines() if r.get("message") == "claims abandoned"]
    assert abandoned and abandoned[0]["claims"] == 3
    held = work.clients.dynamodb.scan(TableName=work.topology.table("idempotency"))["Items"]
    assert [i for i in held if i["status"]["S"] == "IN_PROGRESS"] == []
    # AND another runner applies each of them once, well within the claims' minute
    began = time.monotonic()
    work.start("jobs", "--concurrency", "3")
    work.wait_for(lambda: all(n == 1 for n in work.applied(names).values()), 30)
    assert time.monotonic() - began < 30
    assert set(work.applied(names).values()) == {1}


def test_a_child_whose_parent_dies_drains_and_exits(work: Work) -> None:
    # GIVEN `sluice work` started by a parent that names itself (as the sandbox does), and
    # the parent gone without stopping it (killed, say)
    log = work.project / "orphan.log"
    command = [
        sys.executable, "-m", "sluice.cli", "work", "jobs",
        "--endpoint-url", work.server.endpoint_url, "--region", SANDBOX_REGION, "--wait-s", "1",
    ]  # fmt: skip
    parent = textwrap.dedent(
        f"""
        import os, subprocess, sys
        env = {{**os.environ, "SLUICE_PARENT_PID": str(os.getpid()), "PYTHONPATH": {str(ROOT)!r}}}
        child = subprocess.Popen({command!r}, cwd={str(work.project)!r}, env=env,
                                 stdout=open({str(log)!r}, "w"), stderr=subprocess.STDOUT)
        print(child.pid, flush=True)
        """
    )
    started = subprocess.run(
        [sys.executable, "-c", parent], capture_output=True, text=True, timeout=30, check=True
    )
    orphan = Path(f"/proc/{int(started.stdout)}")
    # THEN the orphan notices, drains and exits by itself
    work.wait_for(lambda: not orphan.exists() or " Z " in (orphan / "stat").read_text(), 60)
    messages = [json.loads(line).get("message") for line in log.read_text().splitlines()]
    assert "parent process gone; draining" in messages
    assert "work stopped" in messages


def test_sigkill_mid_batch_messages_return_after_the_visibility_timeout(work: Work) -> None:
    queue, sent = work.queue("jobs"), jobs(30, 1000, "k")
    queue.send(sent)
    names = [j["job"] for j in sent]
    runner = work.start("jobs", "--concurrency", "6")
    work.wait_for(lambda: sum(work.applied(names).values()) >= 3, 30)

    runner.signal(signal.SIGKILL)
    runner.wait(timeout=5)

    # What it held comes back only after the visibility timeout (2 s: the check itself can
    # be later than that on a loaded machine, so the held ones may be visible again already).
    assert sum(queue.counts()) > 0, "the killed runner's unfinished messages are still queued"
    work.start("jobs", "--concurrency", "10")
    work.wait_for(lambda: queue.counts() == (0, 0), 60)
    assert set(work.applied(names).values()) == {1}, "every effect exactly once"


def test_a_job_of_three_visibility_timeouts_runs_once_with_no_copy_in_parallel(
    work: Work,
) -> None:
    queue = work.queue("jobs")
    queue.send([{"job": "long", "sleep_ms": 3 * VISIBILITY_S * 1000}])
    first = work.start("jobs", "--concurrency", "2")
    second = work.start("jobs", "--concurrency", "2")

    work.wait_for(lambda: work.applied(["long"])["long"] == 1, 30)
    time.sleep(VISIBILITY_S + 0.5)  # a copy let go too early would have started by now

    assert work.effect("start#long") == {"n": 1}, "no second copy ever started"
    assert work.applied(["long"]) == {"long": 1}
    assert queue.counts() == (0, 0)
    for runner in (first, second):
        runner.signal(signal.SIGTERM)
        assert runner.wait(timeout=10) == 0
    extended = [
        r["heartbeat_extensions"]
        for r in (*first.lines(), *second.lines())
        if r.get("message") == "work metrics"
    ]
    assert sum(extended) >= 3, "the heartbeat extended the job's visibility"


def test_two_runners_on_one_fifo_queue_keep_each_groups_order(work: Work) -> None:
    queue = work.queue("ordered")
    groups = ["a", "b", "c", "d"]
    sent = [{"job": f"{g}{i:02d}", "sleep_ms": 20, "group": g} for i in range(12) for g in groups]
    queue.send(sent)

    work.start("ordered", "--concurrency", "4")
    work.start("ordered", "--concurrency", "4")

    work.wait_for(lambda: queue.counts() == (0, 0), 60)
    for group in groups:
        assert work.effect(f"group#{group}")["seq"] == [f"{group}{i:02d}" for i in range(12)]


class FakeAgent(BaseHTTPRequestHandler):
    """The ECS agent's task-protection endpoint: records each PUT body."""

    calls: list[dict[str, Any]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        FakeAgent.calls.append({"path": self.path, **body})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"protection": {}}')

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def agent() -> Iterator[str]:
    FakeAgent.calls = []
    server = HTTPServer(("127.0.0.1", 0), FakeAgent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3/task"
    finally:
        server.shutdown()
        server.server_close()


def test_scale_in_protection_is_held_while_busy_and_released_when_idle(
    work: Work, agent: str
) -> None:
    queue, sent = work.queue("jobs"), jobs(4, 1500, "p")
    runner = work.start("jobs", "--concurrency", "4", env={"ECS_AGENT_URI": agent})
    assert FakeAgent.calls == [], "idle at start: nothing to protect"

    queue.send(sent)
    work.wait_for(lambda: bool(FakeAgent.calls), 10)
    first = FakeAgent.calls[0]
    busy_applied = sum(work.applied([j["job"] for j in sent]).values())

    assert first["path"] == "/v3/task/task-protection/v1/state"
    assert first["ProtectionEnabled"] is True and first["ExpiresInMinutes"] >= 1
    assert busy_applied < len(sent), "protected while the records were in flight"
    work.wait_for(lambda: queue.counts() == (0, 0), 30)
    work.wait_for(lambda: FakeAgent.calls[-1]["ProtectionEnabled"] is False, 10)
    runner.signal(signal.SIGTERM)
    assert runner.wait(timeout=10) == 0


def test_without_an_ecs_agent_protection_is_silently_off(work: Work) -> None:
    queue = work.queue("jobs")
    runner = work.start("jobs", "--concurrency", "2")
    queue.send(jobs(2, 10, "q"))
    work.wait_for(lambda: queue.counts() == (0, 0), 20)
    runner.signal(signal.SIGTERM)
    assert runner.wait(timeout=10) == 0
    assert not [r for r in runner.lines() if r.get("level") in ("WARNING", "ERROR")]


def _dlq_depth(work: Work, worker: str) -> int:
    spec = work.topology.registry.get(worker).spec
    url = work.clients.sqs.get_queue_url(QueueName=work.topology.queues(spec).dlq)["QueueUrl"]
    attrs = work.clients.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_long_job_and_its_duplicate_run_the_handler_exactly_once(work: Work) -> None:
    # finding 2: GIVEN one envelope delivered twice (an SNS duplicate, a retry, a replay),
    # the first copy running three visibility timeouts on one runner, and the second copy
    # arriving meanwhile at another
    queue = work.queue("jobs")
    long_job = {"job": "twice", "sleep_ms": 3 * VISIBILITY_S * 1000}
    job = Envelope.new(JOB_REQUESTED, long_job, source="tests")
    work.clients.sqs.send_message(QueueUrl=queue.url, MessageBody=job.to_json())
    first = work.start("jobs", "--concurrency", "2")
    work.wait_for(lambda: work.effect("start#twice").get("n", 0) == 1, 20)
    work.clients.sqs.send_message(QueueUrl=queue.url, MessageBody=job.to_json())
    second = work.start("jobs", "--concurrency", "2")
    # WHEN the first finishes and the copy's retries find it done
    work.wait_for(lambda: work.applied(["twice"])["twice"] == 1, 30)
    work.wait_for(lambda: queue.counts() == (0, 0), 30)
    # THEN the handler ran once: the heartbeat kept the lease alive as long as the visibility
    assert work.effect("start#twice") == {"n": 1}, "the copy never ran beside the first"
    assert work.applied(["twice"]) == {"twice": 1}
    for runner in (first, second):
        runner.signal(signal.SIGTERM)
        assert runner.wait(timeout=10) == 0
    lost = [r for r in (*first.lines(), *second.lines()) if "lease lost" in r.get("message", "")]
    assert lost == []


def test_a_healthy_envelope_survives_ten_sigterms_in_a_row_and_runs_once(work: Work) -> None:
    # finding 11: GIVEN a queue that dead-letters on the 3rd receive, and a job longer than
    # the drain, so every SIGTERM hands it back unfinished
    queue = work.queue("jobs")
    policy = json.loads(
        work.clients.sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )
    work.clients.sqs.set_queue_attributes(
        QueueUrl=queue.url,
        Attributes={"RedrivePolicy": json.dumps({**policy, "maxReceiveCount": 3})},
    )
    queue.send([{"job": "deploys", "sleep_ms": 4000}])
    # WHEN its consumer is stopped mid-job ten times in a row
    for stop in range(1, 11):
        runner = work.start("jobs", "--concurrency", "2", "--drain-s", "0.3")
        work.wait_for(lambda n=stop: work.effect("start#deploys").get("n", 0) >= n, 20)  # type: ignore[misc]
        runner.signal(signal.SIGTERM)
        assert runner.wait(timeout=10) == 0
        [stopped] = [r for r in runner.lines() if r.get("message") == "work stopped"]
        assert stopped["handed_back"] == 1, "every hand-back is counted"
    # THEN it was never dead-lettered, and the next consumer applies it once
    assert _dlq_depth(work, "jobs") == 0
    work.start("jobs", "--concurrency", "2")
    work.wait_for(lambda: work.applied(["deploys"])["deploys"] == 1, 20)
    work.wait_for(lambda: queue.counts() == (0, 0), 20)
    assert _dlq_depth(work, "jobs") == 0
    assert work.applied(["deploys"]) == {"deploys": 1}


def test_a_body_that_breaks_parsing_is_dead_lettered_alone_and_the_runner_goes_on(
    work: Work,
) -> None:
    # finding 3: GIVEN bodies that raise RecursionError and ValueError in json, not
    # JSONDecodeError, in the same receive as a good job
    queue = work.queue("jobs")
    for body in ("[" * 100_000, "1" * 5000):
        work.clients.sqs.send_message(QueueUrl=queue.url, MessageBody=body)
    queue.send([{"job": "neighbour", "sleep_ms": 10}])
    runner = work.start("jobs", "--concurrency", "3")
    # THEN the neighbour runs, the poison goes to the DLQ with its reason, and a later job
    # still finds a free slot
    work.wait_for(lambda: work.applied(["neighbour"])["neighbour"] == 1, 20)
    work.wait_for(lambda: _dlq_depth(work, "jobs") == 2, 20)
    queue.send([{"job": "later", "sleep_ms": 10}])
    work.wait_for(lambda: work.applied(["later"])["later"] == 1, 20)
    work.wait_for(lambda: queue.counts() == (0, 0), 20)
    runner.signal(signal.SIGTERM)
    assert runner.wait(timeout=10) == 0
