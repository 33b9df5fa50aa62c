"""Fuzz stream-failure replay: any S3 notice, naming any object with any content, between
two good ones.

Invariants: the replay answers with a report (nothing escapes); the good neighbours are
replayed and published; every message is accounted for (moved, or refused, skipped or
failed with a reason and left in the queue); no object is read but the stack's own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from sluice.ops.replay import ReplayOptions
from sluice.ops.streams import replay_stream_failures
from sluice.runtime import stream_event_id
from sluice.target import Target
from tests.conftest import Pipeline
from tests.functional.failure_records import (
    FAILURES,
    TABLE,
    GetObjects,
    change,
    invocation_record,
    notice_body,
)
from tests.fuzz.strategies import (
    ODD_KEY,
    OTHER_BUCKET,
    OWN_BUCKET,
    failure_objects,
    s3_notices,
)

GOOD = "aws/lambda/fuzz/good-{}"
FANNED_OUT = ("sluice-inventory", "sluice-receipts", "sluice-audit")
"""Where the relay's order.placed events land (drained, to keep moto's queues shallow)."""


@pytest.fixture(name="reads")
def reads_fixture(monkeypatch: pytest.MonkeyPatch) -> GetObjects:
    """Every GetObject the S3 clients made from now on send."""
    return GetObjects(monkeypatch)


@given(notice=s3_notices, content=failure_objects())
def test_any_notice_and_any_object_are_accounted_for(
    pipeline: Pipeline, tmp_path_factory: Any, reads: GetObjects, notice: str, content: bytes
) -> None:
    # GIVEN the odd notice between two good ones, and the odd object in both buckets
    assert pipeline.provisioned.failure_buckets[FAILURES] == OWN_BUCKET
    sqs, s3 = pipeline.clients.sqs, pipeline.clients.client("s3")
    if OTHER_BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(
            Bucket=OTHER_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    for bucket in (OWN_BUCKET, OTHER_BUCKET):
        s3.put_object(Bucket=bucket, Key=ODD_KEY, Body=content)
    pipeline.drain(FAILURES)  # S3 announced those objects too: only the three below count
    good = [change(f"ord-good-{n}", 800 + n) for n in range(2)]
    for n, record in enumerate(good):
        body = json.dumps(invocation_record([record]))
        s3.put_object(Bucket=OWN_BUCKET, Key=GOOD.format(n), Body=body)
    pipeline.drain(FAILURES)
    url = pipeline.url(FAILURES)
    sent = [
        sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]
        for body in (
            notice_body(OWN_BUCKET, GOOD.format(0)),
            notice,
            notice_body(OWN_BUCKET, GOOD.format(1)),
        )
    ]
    reads.buckets.clear()
    target = Target(pipeline.clients, pipeline.topology, local=True)
    audit = Path(tmp_path_factory.mktemp("audit")) / "audit.jsonl"

    # WHEN the failure queue is replayed
    report = replay_stream_failures(target, FAILURES, ReplayOptions(audit_path=audit)).to_json()

    # THEN every message is accounted for once, each one not moved with a reason
    moved = {row["message_id"] for row in report["moved"]}
    others = [*report["skipped"], *report["failed"], *report["refused"]]
    assert sorted([*moved, *(row["message_id"] for row in others)]) == sorted(sent)
    assert all(isinstance(row["reason"], str) and row["reason"] for row in others)
    # AND the good neighbours were replayed and published with their deterministic ids
    assert {sent[0], sent[2]} <= moved
    published = {json.loads(m["Body"])["id"] for m in pipeline.drain("sluice-audit")}
    for record in good:
        sequence = record["dynamodb"]["SequenceNumber"]
        assert (
            stream_event_id(TABLE, {"id": record["dynamodb"]["Keys"]["id"]["S"]}, sequence)
            in published
        )
    # AND what was not moved is still in the queue (S3's test event aside: it is dropped)
    dropped = [r for r in report["skipped"] if r["reason"].endswith(": deleted")]
    left = {m["MessageId"] for m in pipeline.drain(FAILURES)}
    assert left == {row["message_id"] for row in others} - {r["message_id"] for r in dropped}
    # AND nothing was read from any bucket but the stack's own
    assert set(reads.buckets) <= {OWN_BUCKET}
    for queue in FANNED_OUT:
        pipeline.drain(queue)
