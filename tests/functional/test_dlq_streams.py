"""Stream-failure replay: re-read the failed range from the stream, or reload from the table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sluice.core import format_time
from sluice.ops import OpsError, replay_dlq
from sluice.ops.dlq_replay import FROM_TABLE_WARNING
from sluice.ops.replay import ReplayOptions
from sluice.ops.streams import replay_stream_failures
from sluice.runtime import stream_event_id
from tests.functional.dlq_fixtures import Ops, cli, cli_json, counts, ops_fixture  # noqa: F401
from tests.functional.failure_records import FAILURES, TABLE, order_row


def _write_orders(ops: Ops, count: int, cancel: int = 0) -> list[str]:
    """Place ``count`` orders (and cancel the first ``cancel``) through the API's item shape."""
    db = ops.pipeline.clients.dynamodb
    ids = []
    for n in range(count):
        db.put_item(TableName=TABLE, Item=order_row(f"ord-{n}", sku=f"SKU-{n}", quantity=n + 1))
        ids.append(f"ord-{n}")
    for order_id in ids[:cancel]:
        db.update_item(
            TableName=TABLE,
            Key={"id": {"S": order_id}},
            UpdateExpression="SET #s = :c, cancelled_at = :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":c": {"S": "CANCELLED"},
                ":now": {"S": format_time(datetime.now(UTC))},
            },
        )
    return ids


def _stream_records(ops: Ops) -> tuple[str, str, list[dict[str, Any]]]:
    streams = ops.pipeline.clients.client("dynamodbstreams")
    arn = ops.pipeline.provisioned.stream_arns["orders"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return arn, shard, streams.get_records(ShardIterator=iterator)["Records"]


def _on_failure(arn: str, shard: str, start: int, end: int, size: int) -> str:
    """The record Lambda sends to the on-failure destination (metadata only)."""
    now = datetime.now(UTC)
    return json.dumps(
        {
            "requestContext": {
                "requestId": "r-1",
                "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:relay",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 4,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "version": "1.0",
            "timestamp": format_time(now),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": str(start),
                "endSequenceNumber": str(end),
                "approximateArrivalOfFirstRecord": format_time(now - timedelta(seconds=5)),
                "approximateArrivalOfLastRecord": format_time(now),
                "batchSize": size,
                "streamArn": arn,
            },
        }
    )


def _published(ops: Ops) -> list[tuple[str, str, str]]:
    """(type, id, order id) of every event the relay published, as inventory received it."""
    bodies = [json.loads(m["Body"]) for m in ops.pipeline.drain("sluice-inventory")]
    return sorted((b["type"], b["id"], b["data"]["order_id"]) for b in bodies)


def test_replay_rereads_the_range_and_republishes_the_same_ids(ops: Ops) -> None:
    # GIVEN three orders, one cancelled, whose relay batch failed for good
    orders = _write_orders(ops, 3, cancel=1)
    arn, shard, records = _stream_records(ops)
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    ops.send_raw(FAILURES, _on_failure(arn, shard, seqs[0], seqs[-1], len(seqs)))

    # WHEN the failure queue is replayed
    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()

    # THEN every change went through the relay, with the ids it derives from the stream
    assert report["counts"] == counts(moved=1)
    expected = sorted(
        [
            ("order.placed", stream_event_id(TABLE, {"id": o}, str(s)), o)
            for o, s in zip(orders, seqs[:3], strict=True)
        ]
        + [("order.cancelled", stream_event_id(TABLE, {"id": orders[0]}, str(seqs[3])), orders[0])]
    )
    assert _published(ops) == expected
    assert ops.count(FAILURES) == 0
    [line] = ops.audit()
    assert line["action"] == "stream-replay"
    assert line["detail"] == f"{shard}:{seqs[0]}..{seqs[-1]}"


def test_replay_reads_only_the_failed_range(ops: Ops) -> None:
    orders = _write_orders(ops, 4)
    arn, shard, records = _stream_records(ops)
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    ops.send_raw(FAILURES, _on_failure(arn, shard, seqs[1], seqs[2], 2))

    result = cli_json("replay", "relay")

    assert result["moved"][0]["records"] == 2
    assert sorted(p[2] for p in _published(ops)) == sorted(orders[1:3])


def test_trimmed_stream_fails_clearly_and_from_table_reloads(ops: Ops) -> None:
    # GIVEN a failure whose records the stream no longer holds
    orders = _write_orders(ops, 2, cancel=1)
    arn, shard, records = _stream_records(ops)
    gone = int(records[-1]["dynamodb"]["SequenceNumber"]) + 100
    ops.send_raw(FAILURES, _on_failure(arn, shard, gone, gone + 2, 3))

    # WHEN replayed from the stream THEN it says so, and keeps the record
    first = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()
    assert first["counts"]["failed"] == 1
    assert "no longer holds" in first["failed"][0]["reason"]
    assert "--from-table" in first["failed"][0]["reason"]
    assert ops.visible(FAILURES) == 1

    # WHEN replayed --from-table THEN the current items are re-emitted, with a warning
    result = cli("replay", FAILURES, "--from-table")
    assert result.exit_code == 0, result.output
    assert "current state may differ" in result.stderr or "as it is NOW" in result.stderr
    published = _published(ops)
    assert sorted((t, o) for t, _, o in published) == sorted(
        [("order.placed", orders[0]), ("order.placed", orders[1]), ("order.cancelled", orders[0])]
    )
    assert ops.count(FAILURES) == 0
    assert ops.audit()[-1]["action"] == "stream-replay-from-table"


def test_from_table_ids_are_stable_across_repeats(ops: Ops) -> None:
    _write_orders(ops, 2)
    arn, shard, _ = _stream_records(ops)
    ops.send_raw(FAILURES, _on_failure(arn, shard, 1, 2, 2))

    replay_stream_failures(ops.target, FAILURES, ReplayOptions(dry_run=True), from_table=True)
    replay_stream_failures(ops.target, FAILURES, ReplayOptions(), from_table=True)
    first = _published(ops)
    ops.send_raw(FAILURES, _on_failure(arn, shard, 1, 2, 2))
    replay_stream_failures(ops.target, FAILURES, ReplayOptions(), from_table=True)

    assert _published(ops) == first
    assert len(first) == 2


def test_stream_replay_dry_run_and_bad_bodies(ops: Ops) -> None:
    _write_orders(ops, 1)
    arn, shard, records = _stream_records(ops)
    seq = int(records[0]["dynamodb"]["SequenceNumber"])
    ops.send_raw(FAILURES, _on_failure(arn, shard, seq, seq, 1))
    ops.send_raw(FAILURES, "garbage")

    report = cli_json("replay", FAILURES, "--dry-run")

    assert report["counts"]["moved"] == 1
    assert report["skipped"][0]["reason"].startswith("not a stream on-failure record")
    assert _published(ops) == []
    assert ops.visible(FAILURES) == 2


def test_envelope_filters_do_not_apply_to_stream_failures(ops: Ops) -> None:
    result = cli("replay", FAILURES, "--type", "order.placed")

    assert result.exit_code == 2
    assert "--type, --id, --rate and --to do not apply" in result.stderr


def test_replay_dlq_takes_the_stream_way_for_a_failure_queue_and_warns_from_table(
    ops: Ops,
) -> None:
    # GIVEN a stream failure record of two changes
    _write_orders(ops, 2)
    arn, shard, records = _stream_records(ops)
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    ops.send_raw(FAILURES, _on_failure(arn, shard, seqs[0], seqs[1], 2))
    warnings: list[str] = []

    # WHEN the one entry point replays it from the table
    report = replay_dlq(
        ops.target, FAILURES, ReplayOptions(), from_table=True, warn=warnings.append
    ).to_json()

    # THEN it went through the relay, after the warning about current items
    assert warnings == [FROM_TABLE_WARNING]
    assert report["destination"] == "worker:relay"
    assert report["counts"] == counts(moved=1)
    assert ops.count(FAILURES) == 0


def test_replay_dlq_refuses_from_table_on_a_queue_dlq_and_moves_nothing(ops: Ops) -> None:
    ops.send_raw("sluice-inventory-dlq", "anything")
    warnings: list[str] = []

    with pytest.raises(OpsError, match="applies to stream failure queues only"):
        replay_dlq(ops.target, "inventory", ReplayOptions(), from_table=True, warn=warnings.append)

    assert warnings == []
    assert ops.count("sluice-inventory-dlq") == 1


def test_a_record_naming_another_tables_stream_is_refused_and_left_in_the_queue(
    ops: Ops,
) -> None:
    # catches: replay re-reading whatever stream a record on the failure queue names, and
    # publishing another table's changes as the relay's events
    _write_orders(ops, 1)
    _, shard, [record] = _stream_records(ops)
    sequence = int(record["dynamodb"]["SequenceNumber"])
    elsewhere = "arn:aws:dynamodb:eu-west-1:123456789012:table/sluice-state/stream/2024-01-01T00"
    ops.send_raw(FAILURES, _on_failure(elsewhere, shard, sequence, sequence, 1))

    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()

    [refused] = report["refused"]
    assert refused["reason"] == (
        f"names stream {elsewhere}, not one of table {TABLE} that relay reads: not replayed, "
        "left in the queue"
    )
    assert _published(ops) == []
    assert ops.visible(FAILURES) == 1
