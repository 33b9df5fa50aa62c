"""Stream failures kept in S3: the failure queue holds S3 notifications naming Lambda's
invocation records; replay re-drives the records the object holds, exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from events import OrderPlaced
from producers.orders import order_item
from sluice.commands import dlq_view as render
from sluice.core.schema import load
from sluice.ops.inspect import list_dlqs, show
from sluice.ops.replay import ReplayOptions
from sluice.ops.streams import replay_stream_failures
from sluice.runtime import stream_event_id
from sluice.topology import STREAM_FAILURE_RETENTION_DAYS
from tests.factories import ACCOUNT, order_data, sqs_event, sqs_record
from tests.functional.dlq_fixtures import Ops, cli, cli_json, counts, ops_fixture  # noqa: F401
from tests.functional.failure_records import (
    FAILURES,
    INVENTORY,
    KEY,
    SHARD,
    TABLE,
    GetObjects,
    change,
    invocation_record,
    notice_body,
)


@pytest.fixture(name="wide")
def wide_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich prints for a wide terminal, so table cells are not wrapped mid-word."""
    monkeypatch.setattr(render.out, "width", 200)


def _bucket(ops: Ops) -> str:
    return ops.pipeline.provisioned.failure_buckets[FAILURES]


def _fail(ops: Ops, records: list[Any], key: str = KEY, **options: Any) -> None:
    """Lambda writes the record to the bucket; S3 announces it on the failure queue."""
    body = json.dumps(invocation_record(records, **options))
    ops.pipeline.clients.client("s3").put_object(Bucket=_bucket(ops), Key=key, Body=body)


def _published(ops: Ops) -> list[tuple[str, str, str]]:
    bodies = [json.loads(m["Body"]) for m in ops.pipeline.drain(INVENTORY)]
    return sorted((b["type"], b["id"], b["data"]["order_id"]) for b in bodies)


def _consume(ops: Ops, messages: list[dict[str, Any]]) -> None:
    """The inventory worker takes every message it was sent."""
    inventory = ops.pipeline.worker("inventory")
    for message in messages:
        record = sqs_record(message["Body"], queue=INVENTORY, message_id=message["MessageId"])
        assert inventory.handler(sqs_event(record), None) == {"batchItemFailures": []}


def test_an_s3_notification_is_replayed_from_its_object(ops: Ops) -> None:
    # GIVEN a failed batch of two orders that neither the table nor the stream holds
    failed = [change("ord-s3-1", 7001, sku="SKU-A"), change("ord-s3-2", 7002, sku="SKU-B")]
    _fail(ops, failed)
    [message] = ops.pipeline.clients.sqs.receive_message(
        QueueUrl=ops.pipeline.url(FAILURES), VisibilityTimeout=0
    )["Messages"]
    assert json.loads(message["Body"])["Records"][0]["eventSource"] == "aws:s3"

    # WHEN the failure queue is replayed
    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()

    # THEN exactly the object's records went through the relay, with the ids it derives
    assert report["counts"] == counts(moved=1)
    [row] = report["moved"]
    assert (row["records"], row["via"]) == (2, "s3")
    assert row["object"] == f"s3://{_bucket(ops)}/{KEY}"
    assert (row["shard_id"], row["start_sequence"], row["end_sequence"]) == (SHARD, "7001", "7002")
    assert _published(ops) == [
        ("order.placed", stream_event_id(TABLE, {"id": "ord-s3-1"}, "7001"), "ord-s3-1"),
        ("order.placed", stream_event_id(TABLE, {"id": "ord-s3-2"}, "7002"), "ord-s3-2"),
    ]
    assert ops.count(FAILURES) == 0
    [line] = ops.audit()
    assert line["action"] == "stream-replay-from-s3"
    assert line["destination"] == "worker:relay"
    assert line["detail"] == f"{SHARD}:7001..7002 s3://{_bucket(ops)}/{KEY}"


def test_a_repeated_s3_replay_has_its_effects_once(ops: Ops) -> None:
    # GIVEN the same failure record announced twice (a replay repeated after a crash)
    _fail(ops, [change("ord-twice", 8001, sku="SKU-T", quantity=3)])
    replay_stream_failures(ops.target, FAILURES, ReplayOptions())
    _fail(ops, [change("ord-twice", 8001, sku="SKU-T", quantity=3)])
    replay_stream_failures(ops.target, FAILURES, ReplayOptions())

    # WHEN inventory consumes both copies the relay published
    messages = ops.pipeline.drain(INVENTORY)
    assert len(messages) == 2
    assert len({json.loads(m["Body"])["id"] for m in messages}) == 1
    _consume(ops, messages)

    # THEN the stock moved once
    assert ops.pipeline.stock("SKU-T") == {"reserved": 3, "reservations": 1}


def test_only_the_records_in_the_failed_range_are_replayed(ops: Ops) -> None:
    # GIVEN an object whose payload also holds a record before the failed range
    records = [change("ord-ok", 9001), change("ord-bad", 9002)]
    doc = invocation_record(records)
    doc["DDBStreamBatchInfo"].update(startSequenceNumber="9002", batchSize=1)
    s3 = ops.pipeline.clients.client("s3")
    s3.put_object(Bucket=_bucket(ops), Key=KEY, Body=json.dumps(doc))

    report = cli_json("replay", "relay")

    assert report["moved"][0]["records"] == 1
    assert [p[2] for p in _published(ops)] == ["ord-bad"]


def test_a_gone_object_leaves_the_message_with_the_reason(ops: Ops) -> None:
    # GIVEN a notification whose object the bucket's lifecycle has expired
    _fail(ops, [change("ord-gone", 5001)])
    ops.pipeline.clients.client("s3").delete_object(Bucket=_bucket(ops), Key=KEY)

    # WHEN replayed
    result = cli("replay", "relay", "--json")

    # THEN it fails clearly, and the message stays for the operator
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    [failed] = report["failed"]
    assert failed["reason"].startswith(f"s3://{_bucket(ops)}/{KEY} is gone")
    assert "lifecycle" in failed["reason"]
    assert ops.visible(FAILURES) == 1
    assert _published(ops) == []
    assert ops.audit() == []


def test_a_malformed_notification_is_skipped_with_the_reason(ops: Ops) -> None:
    bad = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]}
    ops.send_raw(FAILURES, json.dumps(bad))

    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()

    assert report["counts"]["skipped"] == 1
    assert report["skipped"][0]["reason"] == (
        "S3 notification, without a bucket name and an object key"
    )
    assert ops.visible(FAILURES) == 1


def test_an_object_without_payload_is_re_read_from_the_stream(ops: Ops) -> None:
    # GIVEN a real change still in the stream, and a failure record that lacks the payload
    db = ops.pipeline.clients.dynamodb
    order = load(OrderPlaced, order_data("ord-stream", sku="SKU-S"))
    item = order_item(
        order,
        correlation_id="c",
        created_at="2024-01-01T00:00:00Z",
        request_hash="h",
        idempotency_key=None,
    )
    db.put_item(TableName=TABLE, Item=item)
    streams = ops.pipeline.clients.client("dynamodbstreams")
    arn = ops.pipeline.provisioned.stream_arns["orders"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    [raw] = streams.get_records(ShardIterator=iterator)["Records"]
    sequence = raw["dynamodb"]["SequenceNumber"]
    doc = invocation_record([change("ord-stream", int(sequence))], payload=False)
    doc["DDBStreamBatchInfo"].update(shardId=shard, streamArn=arn)
    ops.pipeline.clients.client("s3").put_object(Bucket=_bucket(ops), Key=KEY, Body=json.dumps(doc))

    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()

    assert report["moved"][0]["via"] == "stream"
    assert [p[1] for p in _published(ops)] == [
        stream_event_id(TABLE, {"id": "ord-stream"}, sequence)
    ]


def test_the_s3_test_event_is_deleted_by_a_replay_and_kept_by_a_dry_run(ops: Ops) -> None:
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": _bucket(ops)}
    ops.send_raw(FAILURES, json.dumps(event))

    dry = replay_stream_failures(ops.target, FAILURES, ReplayOptions(dry_run=True)).to_json()
    assert dry["skipped"][0]["reason"].endswith("would be deleted")
    assert ops.visible(FAILURES) == 1

    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()
    assert report["skipped"][0]["reason"].endswith(": deleted")
    assert ops.count(FAILURES) == 0
    assert [line["action"] for line in ops.audit()] == ["drop-s3-test-event"]


def test_show_names_the_object_the_range_and_the_record_count(ops: Ops, wide: None) -> None:
    _fail(ops, [change("ord-show-1", 6001), change("ord-show-2", 6002)])

    [row] = show(ops.target, FAILURES)

    assert row["failure_object"] == {"bucket": _bucket(ops), "key": KEY, "found": True}
    stream = row["stream"]
    assert (stream["shard_id"], stream["start_sequence"], stream["end_sequence"]) == (
        SHARD,
        "6001",
        "6002",
    )
    assert (stream["condition"], stream["batch_size"], stream["records"]) == (
        "RetryAttemptsExhausted",
        2,
        2,
    )
    assert row["problem"] is None
    text = cli("show", FAILURES)
    assert text.exit_code == 0, text.output
    assert f"s3://{_bucket(ops)}/{KEY}, holds 2 records" in text.stdout
    assert "shard " + SHARD + " sequences 6001..6002" in text.stdout
    assert ops.visible(FAILURES) == 1


def test_show_says_when_the_object_is_gone(ops: Ops) -> None:
    _fail(ops, [change("ord-show-gone", 6101)])
    ops.pipeline.clients.client("s3").delete_object(Bucket=_bucket(ops), Key=KEY)

    [row] = cli_json("show", FAILURES)

    assert row["failure_object"]["found"] is False
    assert row["stream"] is None
    assert " is gone" in row["problem"]


def test_ls_shows_how_long_stream_failures_stay_replayable(ops: Ops, wide: None) -> None:
    rows = {r["name"]: r for r in list_dlqs(ops.target)}

    relay = rows[FAILURES]
    assert relay["replayable_s"] == STREAM_FAILURE_RETENTION_DAYS * 86400
    assert (relay["replayable_via"], relay["replayable_basis"]) == ("s3", "lifecycle")
    assert relay["failure_bucket"] == _bucket(ops)
    assert rows["sluice-inventory-dlq"]["replayable_s"] is None
    assert "14d (S3)" in cli("ls").stdout


def test_ls_reads_the_bucket_lifecycle_and_falls_back_to_the_stream(ops: Ops, wide: None) -> None:
    # GIVEN a bucket whose lifecycle keeps records 3 days
    s3, sqs = ops.pipeline.clients.client("s3"), ops.pipeline.clients.sqs
    rule = {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 3}}
    s3.put_bucket_lifecycle_configuration(
        Bucket=_bucket(ops), LifecycleConfiguration={"Rules": [rule]}
    )
    assert {r["name"]: r["replayable_s"] for r in cli_json("ls")}[FAILURES] == 3 * 86400

    # WHEN the queue is not notified by a bucket (metadata-only records)
    sqs.set_queue_attributes(QueueUrl=ops.pipeline.url(FAILURES), Attributes={"Policy": ""})

    # THEN failures are replayable while the stream holds them
    rows = {r["name"]: r for r in list_dlqs(ops.target)}
    assert (rows[FAILURES]["replayable_s"], rows[FAILURES]["replayable_via"]) == (86400, "stream")
    assert "24h (stream)" in cli("ls").stdout


ELSEWHERE = "someone-elses-bucket"


def test_a_notice_naming_another_bucket_is_refused_and_left_in_the_queue(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    # catches: replay reading whatever bucket a notice names and publishing its records with
    # the operator's credentials; anyone who may send to the failure queue can plant one
    s3 = ops.pipeline.clients.client("s3")
    s3.create_bucket(
        Bucket=ELSEWHERE, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    planted = json.dumps(invocation_record([change("ord-planted", 4001)]))
    s3.put_object(Bucket=ELSEWHERE, Key=KEY, Body=planted)
    # GIVEN a notice naming that object, sent straight to the failure queue
    ops.send_raw(FAILURES, notice_body(ELSEWHERE, KEY))
    reads = GetObjects(monkeypatch)

    # WHEN the failure queue is replayed
    result = cli("replay", "relay")

    # THEN the notice is refused, named, with the reason on one line, and the run fails
    assert result.exit_code == 1, result.output
    report = cli_json("replay", "relay")
    [refused] = report["refused"]
    reason = (
        f"names s3://{ELSEWHERE}/{KEY}, not this stack's failure bucket "
        f"s3://{_bucket(ops)} (account {ACCOUNT}): not read, left in the queue"
    )
    assert refused["reason"] == reason
    assert report["counts"] == counts(refused=1)
    assert f"refused {refused['message_id']}: {reason}" in " ".join(result.stdout.split())
    assert "refused 1" in result.stdout
    # AND nothing was read or published, nothing audited, and the notice is still there
    assert reads.buckets == []
    assert _published(ops) == []
    assert ops.audit() == []
    assert ops.visible(FAILURES) == 1


def test_the_failure_object_is_read_only_in_the_stacks_account(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    # catches: a read that does not name the account, so a bucket of the same name that
    # another account owns (deleted and re-created) would be read
    # GIVEN a failure object in the stack's bucket, announced
    _fail(ops, [change("ord-account", 4101)])
    reads = GetObjects(monkeypatch)

    # WHEN the failure queue is replayed
    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()

    # THEN the object was read on condition that the queue's account owns its bucket
    assert report["counts"]["moved"] == 1
    assert reads.owners == [ACCOUNT]


def test_without_a_failure_bucket_in_the_queue_policy_every_notice_is_refused(ops: Ops) -> None:
    # GIVEN a failure queue whose policy lets no bucket notify it, and a notice on it
    _fail(ops, [change("ord-no-policy", 4201)])
    sqs = ops.pipeline.clients.sqs
    sqs.set_queue_attributes(QueueUrl=ops.pipeline.url(FAILURES), Attributes={"Policy": ""})

    # WHEN the failure queue is replayed
    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()

    # THEN the notice is refused: no bucket is the stack's, so none is read
    [refused] = report["refused"]
    assert refused["reason"] == (
        f"names s3://{_bucket(ops)}/{KEY}, and the policy of {FAILURES} lets no bucket "
        "notify it (or could not be read), so no notice can be trusted: not read, left in "
        "the queue"
    )
    assert _published(ops) == []
    assert ops.visible(FAILURES) == 1


def test_a_test_event_from_another_bucket_is_refused_not_deleted(ops: Ops) -> None:
    # GIVEN an S3 test event naming a bucket that is not the stack's
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": ELSEWHERE}
    ops.send_raw(FAILURES, json.dumps(event))

    # WHEN the failure queue is replayed
    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()

    # THEN it is refused and kept, not dropped as the stack's own test event would be
    [refused] = report["refused"]
    assert refused["reason"] == (
        f"names s3://{ELSEWHERE}, not this stack's failure bucket s3://{_bucket(ops)} "
        f"(account {ACCOUNT}): not read, left in the queue"
    )
    assert ops.audit() == []
    assert ops.visible(FAILURES) == 1


def test_show_does_not_read_a_notice_naming_another_bucket(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a notice naming another bucket
    ops.send_raw(FAILURES, notice_body(ELSEWHERE, KEY))
    reads = GetObjects(monkeypatch)

    # WHEN the failure queue is shown
    [row] = show(ops.target, FAILURES)

    # THEN the notice is shown refused, and its object was not read

    assert row["problem"] == (
        f"refused: names s3://{ELSEWHERE}/{KEY}, not this stack's failure bucket "
        f"s3://{_bucket(ops)} (account {ACCOUNT}): not read, left in the queue"
    )
    assert row["failure_object"] == {"bucket": ELSEWHERE, "key": KEY, "found": False}
    assert reads.buckets == []
