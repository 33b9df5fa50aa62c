"""Stream failures kept in S3: the failure queue holds S3 notifications naming Lambda's
invocation records; replay re-drives the records the object holds, exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from events import OrderPlaced
from producers.orders import order_item
from sluice.commands import dlq_view as render
from sluice.core import format_time
from sluice.core.schema import load
from sluice.ops.inspect import list_dlqs, show
from sluice.ops.replay import ReplayOptions
from sluice.ops.streams import replay_stream_failures
from sluice.runtime import stream_event_id
from sluice.topology import STREAM_FAILURE_RETENTION_DAYS
from tests.factories import order_data, sqs_event, sqs_record
from tests.functional.dlq_fixtures import Ops, cli, cli_json, ops_fixture  # noqa: F401

FAILURES = "sluice-relay-stream-failures"
TABLE = "sluice-orders"
INVENTORY = "sluice-inventory"
SHARD = "shardId-00000001700000000000-0000abcd"
STREAM_ARN = f"arn:aws:dynamodb:eu-west-1:123456789012:table/{TABLE}/stream/2024-01-01T00:00:00.000"
KEY = f"aws/lambda/0b6f0e5c-0000-4000-8000-000000000001/{SHARD}/2024/01/02/2024-01-02T03.04.05-1"


def _change(order_id: str, sequence: int, *, sku: str = "SKU-1", quantity: int = 1) -> Any:
    """A Lambda-shaped INSERT of an order, as the relay received it when it failed."""
    order = load(OrderPlaced, order_data(order_id, sku=sku, quantity=quantity))
    item = order_item(
        order,
        correlation_id=f"corr-{order_id}",
        created_at=format_time(datetime.now(UTC)),
        request_hash="h",
        idempotency_key=None,
    )
    return {
        "eventID": f"ev-{sequence}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": {
            "ApproximateCreationDateTime": 1704164645.0,
            "Keys": {"id": item["id"]},
            "NewImage": item,
            "SequenceNumber": str(sequence),
            "SizeBytes": 200,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def _invocation_record(records: list[Any], *, payload: bool = True) -> dict[str, Any]:
    """What Lambda writes to an S3 on-failure destination for a DynamoDB stream batch."""
    now = datetime.now(UTC)
    doc: dict[str, Any] = {
        "requestContext": {
            "requestId": "316aa6d0-8154-4f0d-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:sluice-relay",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": format_time(now),
        "DDBStreamBatchInfo": {
            "shardId": SHARD,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": format_time(now - timedelta(seconds=5)),
            "approximateArrivalOfLastRecord": format_time(now),
            "batchSize": len(records),
            "streamArn": STREAM_ARN,
        },
    }
    if payload:
        doc["payload"] = json.dumps({"Records": records})  # an escaped JSON string, as AWS does
    return doc


@pytest.fixture(name="wide")
def wide_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich prints for a wide terminal, so table cells are not wrapped mid-word."""
    monkeypatch.setattr(render.out, "width", 200)


def _bucket(ops: Ops) -> str:
    return ops.pipeline.provisioned.failure_buckets[FAILURES]


def _fail(ops: Ops, records: list[Any], key: str = KEY, **options: Any) -> None:
    """Lambda writes the record to the bucket; S3 announces it on the failure queue."""
    body = json.dumps(_invocation_record(records, **options))
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
    failed = [_change("ord-s3-1", 7001, sku="SKU-A"), _change("ord-s3-2", 7002, sku="SKU-B")]
    _fail(ops, failed)
    [message] = ops.pipeline.clients.sqs.receive_message(
        QueueUrl=ops.pipeline.url(FAILURES), VisibilityTimeout=0
    )["Messages"]
    assert json.loads(message["Body"])["Records"][0]["eventSource"] == "aws:s3"

    # WHEN the failure queue is replayed
    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()

    # THEN exactly the object's records went through the relay, with the ids it derives
    assert report["counts"] == {"moved": 1, "skipped_by_filter": 0, "skipped": 0, "failed": 0}
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
    _fail(ops, [_change("ord-twice", 8001, sku="SKU-T", quantity=3)])
    replay_stream_failures(ops.target, FAILURES, ReplayOptions())
    _fail(ops, [_change("ord-twice", 8001, sku="SKU-T", quantity=3)])
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
    records = [_change("ord-ok", 9001), _change("ord-bad", 9002)]
    doc = _invocation_record(records)
    doc["DDBStreamBatchInfo"].update(startSequenceNumber="9002", batchSize=1)
    s3 = ops.pipeline.clients.client("s3")
    s3.put_object(Bucket=_bucket(ops), Key=KEY, Body=json.dumps(doc))

    report = cli_json("replay", "relay")

    assert report["moved"][0]["records"] == 1
    assert [p[2] for p in _published(ops)] == ["ord-bad"]


def test_a_gone_object_leaves_the_message_with_the_reason(ops: Ops) -> None:
    # GIVEN a notification whose object the bucket's lifecycle has expired
    _fail(ops, [_change("ord-gone", 5001)])
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
    doc = _invocation_record([_change("ord-stream", int(sequence))], payload=False)
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
    _fail(ops, [_change("ord-show-1", 6001), _change("ord-show-2", 6002)])

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
    _fail(ops, [_change("ord-show-gone", 6101)])
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
