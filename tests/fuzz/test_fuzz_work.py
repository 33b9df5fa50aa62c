"""Fuzz ``sluice work``: any body, received beside good ones, through the runner in-process.

Invariants: nothing escapes the runner's thread, every slot and heartbeat entry it took is
given back, the good neighbours run and are deleted, and the odd message ran, is on the
DLQ with a reason, or is still on its queue for a retry (nothing is lost).
"""

from __future__ import annotations

import os

from hypothesis import example, given
from hypothesis import strategies as st

from events import CATALOG
from sluice.container.runner import Runner, WorkSettings
from sluice.core import Envelope
from sluice.runtime import worker
from sluice.runtime.sqs_event import RECEIVE_ATTRIBUTES
from tests.conftest import Pipeline
from tests.factories import placed
from tests.fuzz.strategies import record_bodies

QUEUE = "sluice-inventory"
DLQ = "sluice-inventory-dlq"
SEEN: list[str] = []

# Bodies Python's json rejects with something other than a JSONDecodeError.
breaking = st.sampled_from(["[" * 100_000, "{" * 5_000, "1" * 5_000, '{"id": ' + "9" * 5_000])


@worker(catalog=CATALOG, name="worked")
def worked(event: Envelope[object]) -> None:
    """Runs whatever decodes."""
    SEEN.append(event.id)


@given(bad=st.one_of(record_bodies, breaking))
@example(bad="[" * 100_000)
@example(bad="1" * 5_000)
def test_any_body_through_sluice_work_fails_alone_and_nothing_is_lost(
    pipeline: Pipeline, bad: str
) -> None:
    # GIVEN the odd body received in one batch between two good orders
    SEEN.clear()
    sqs, url = pipeline.clients.sqs, pipeline.fresh_queue(QUEUE, "fuzz-work")
    first, last = placed(), placed()
    for body in (first.to_json(), bad, last.to_json()):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    runner = Runner(
        worked.use(pipeline.deps("worked")),
        sqs,
        url,
        region=os.environ["AWS_DEFAULT_REGION"],
        settings=WorkSettings(concurrency=3, wait_s=0),
    )
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **RECEIVE_ATTRIBUTES)
    taken = messages["Messages"]
    assert len(taken) == 3
    assert runner._slots.take(len(taken), timeout=0) == 3
    runner._accept(taken)
    # WHEN the runner processes the batch
    runner._process(taken)
    # THEN its slots and heartbeat are free again, the neighbours ran, and the odd one ran,
    # is on the DLQ with its reason, or waits on the queue for a retry
    assert runner.in_flight == 0 and runner.heartbeat.held() == []
    assert "batch could not be settled" not in pipeline.logs.getvalue()
    assert runner._slots.take(3, timeout=0) == 3
    assert {first.id, last.id} <= set(SEEN)
    letters = pipeline.drain(DLQ)
    left = _still_queued(pipeline, url)
    assert (len(SEEN) == 3, len(letters), left) in ((True, 0, 0), (False, 1, 0), (False, 0, 1))
    for letter in letters:
        assert letter["Body"] == bad
        assert letter["MessageAttributes"]["sluice.failure_reason"]["StringValue"]


def _still_queued(pipeline: Pipeline, url: str) -> int:
    """How many messages are left on the queue, visible or backed off."""
    attrs = pipeline.clients.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(count) for count in attrs.values())
