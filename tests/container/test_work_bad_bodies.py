"""``sluice work`` with a body no parser reads beside a good job: the job applies, the body
is dead-lettered with its reason, and the runner goes on.

The runner logs every record (its correlation id) before the engine sees the batch, so the
helper that names it must never raise (``sluice.runtime.sqs_event.correlation_of``).
"""

from __future__ import annotations

from typing import Any

import pytest

from sluice.core import Envelope
from sluice.runtime.queues import REASON, WORKER
from tests.container.conftest import Work
from tests.container.workapp.events import JOB_REQUESTED

pytestmark = pytest.mark.container


@pytest.mark.parametrize("bad", ["[" * 100_000, "9" * 5000], ids=["100 000 '['", "5000 digits"])
def test_a_body_no_parser_reads_is_dead_lettered_and_the_job_beside_it_applies(
    work: Work, bad: str
) -> None:
    # GIVEN a good job and a body json gives up on, on the jobs queue together
    queue = work.queue("jobs")
    good = Envelope.new(JOB_REQUESTED, {"job": "beside", "sleep_ms": 0}, source="tests")
    work.clients.sqs.send_message_batch(
        QueueUrl=queue.url,
        Entries=[{"Id": "0", "MessageBody": good.to_json()}, {"Id": "1", "MessageBody": bad}],
    )
    # WHEN sluice work consumes the queue
    runner = work.start("jobs")
    names = work.topology.queues(work.topology.registry.get("jobs").spec)
    dlq = work.clients.sqs.get_queue_url(QueueName=names.dlq)["QueueUrl"]
    letters: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        letters.extend(
            work.clients.sqs.receive_message(
                QueueUrl=dlq, MessageAttributeNames=["All"], MaxNumberOfMessages=10
            ).get("Messages", [])
        )
        return bool(letters)

    work.wait_for(dead_lettered, 30)
    # THEN the body is on the DLQ as it came, refused by the worker as malformed JSON
    [letter] = letters
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert (letter["Body"], attrs[REASON], attrs[WORKER]) == (bad, "malformed_json", "jobs")
    # AND the job beside it applied once, and the queue is empty
    work.wait_for(lambda: work.applied(["beside"]) == {"beside": 1}, 30)
    work.wait_for(lambda: queue.counts() == (0, 0), 10)
    errors = [r["message"] for r in runner.lines() if r.get("level") == "ERROR"]
    assert errors == ["permanent failure"]
