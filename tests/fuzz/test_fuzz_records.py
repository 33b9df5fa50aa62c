"""Fuzz the record decoder and the relay: any body, any stream image, in a batch of good ones.

Invariants: the handler answers (nothing escapes), the good neighbours apply, and the odd
record is either run, left to retry, or on the DLQ with a reason (nothing is lost).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from events import CATALOG
from sluice.core import Envelope
from sluice.runtime import Source, StreamChange, Worker, worker
from sluice.runtime.records import stream_envelope
from tests.conftest import Pipeline
from tests.factories import placed, sample, sqs_event, sqs_record
from tests.fuzz.strategies import attribute_values, images, json_values, record_bodies, sqs_text

QUEUE = "sluice-inventory"
DLQ = "sluice-inventory-dlq"
SEEN: list[str] = []


@worker(catalog=CATALOG, name="fuzzed", idempotent=False)
def fuzzed(event: Envelope[Any]) -> None:
    """Runs whatever decodes."""
    SEEN.append(event.id)


@worker(catalog=CATALOG, source=Source.STREAM, table="orders", name="changes", idempotent=False)
def changes(event: Envelope[StreamChange]) -> None:
    """Runs whatever decodes."""
    SEEN.append(event.data.sequence_number)


def wire(pipeline: Pipeline, declared: Worker) -> Worker:
    """The module's worker, wired to this test's moto."""
    return declared.use(pipeline.deps(declared.spec.name))


@given(bad=record_bodies)
def test_any_record_body_fails_alone_and_nothing_is_lost(pipeline: Pipeline, bad: str) -> None:
    # GIVEN the odd body between two good orders
    SEEN.clear()
    first, last = placed(), placed()
    records = [sqs_record(first, queue=QUEUE), sqs_record(bad, queue=QUEUE)]
    records.append(sqs_record(last, queue=QUEUE))
    # WHEN the batch runs
    answer = wire(pipeline, fuzzed).handler(sqs_event(*records), None)
    # THEN the neighbours ran, and the odd one ran, waits for a retry, or is on the DLQ
    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    assert failed in ([], [records[1]["messageId"]])
    assert {first.id, last.id} <= set(SEEN)
    letters = pipeline.drain(DLQ)
    ran = len(SEEN) == 3
    assert (ran, bool(failed), len(letters)) in (
        (True, False, 0),
        (False, True, 0),
        (False, False, 1),
    )
    for letter in letters:
        assert letter["Body"] == bad
        assert letter["MessageAttributes"]["sluice.failure_reason"]["StringValue"]


def _stream_record(sequence: str) -> dict[str, Any]:
    record: dict[str, Any] = sample("dynamodb_insert")["Records"][0]
    record["dynamodb"]["SequenceNumber"] = sequence
    record["dynamodb"]["Keys"] = {"id": {"S": f"ord-{sequence}"}}
    return record


@st.composite
def odd_stream_records(draw: st.DrawFn) -> dict[str, Any]:
    """A stream record with any images, keys, event name and time."""
    record = _stream_record("102")
    body = record["dynamodb"]
    record["eventName"] = draw(st.sampled_from(["INSERT", "MODIFY", "REMOVE"]) | sqs_text)
    body["Keys"] = draw(st.just(body["Keys"]) | images | json_values)
    for image in ("NewImage", "OldImage"):
        choice = draw(st.sampled_from(["keep", "drop", "any"]))
        if choice == "drop":
            body.pop(image, None)
        elif choice == "any":
            body[image] = draw(images | attribute_values)
    body["ApproximateCreationDateTime"] = draw(
        st.floats()
        | st.integers()
        | sqs_text
        | st.none()
        | st.just(body["ApproximateCreationDateTime"])
    )
    return record


@given(odd=odd_stream_records())
def test_any_stream_record_fails_alone_in_shard_order(
    pipeline: Pipeline, odd: dict[str, Any]
) -> None:
    SEEN.clear()
    records = [_stream_record("101"), odd, _stream_record("103")]
    answer = wire(pipeline, changes).handler({"Records": records}, None)
    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    # the shard resumes at the odd record, or the odd record ran like the others
    assert (SEEN, failed) in ((["101"], ["102", "103"]), (["101", "102", "103"], []))


@given(odd=odd_stream_records())
def test_the_relay_publishes_the_good_neighbour_of_any_stream_record(
    pipeline: Pipeline, odd: dict[str, Any]
) -> None:
    good = _stream_record("101")
    answer = pipeline.worker("relay").handler({"Records": [good, odd]}, None)
    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    assert failed in ([], ["102"])
    published = {json.loads(m["Body"])["id"] for m in pipeline.drain("sluice-audit")}
    assert stream_envelope(good).id in published
    for queue in ("sluice-inventory", "sluice-receipts"):  # keep moto's queues shallow
        pipeline.drain(queue)
