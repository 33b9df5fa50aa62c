"""Stream-failure replay: re-read the failed range from the stream, or reload from the table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sluice.core import format_time
from sluice.ops import OpsError, replay_dlq
from sluice.ops.dlq_replay import FROM_TABLE_WARNING
from sluice.ops.filters import MessageFilter
from sluice.ops.replay import ReplayOptions
from sluice.ops.streams import replay_stream_failures
from sluice.runtime import stream_event_id
from tests.functional.dlq_fixtures import Ops, cli, cli_json, counts, ops_fixture  # noqa: F401
from tests.functional.failure_records import FAILURES, TABLE, order_row
from tests.functional.faults import EntryFaults


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


class Counted:
    """A replay's progress: the total announced, and every message looked at."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.advanced: list[int] = []

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, count: int) -> None:
        self.advanced.append(count)


def test_a_replay_reports_each_moved_range_and_audits_it_to_the_chosen_file(
    ops: Ops, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a failure record of three changes
    _write_orders(ops, 3)
    arn, shard, records = _stream_records(ops)
    seqs = [str(r["dynamodb"]["SequenceNumber"]) for r in records]
    ops.send_raw(FAILURES, _on_failure(arn, shard, int(seqs[0]), int(seqs[2]), 3))
    audit = tmp_path / "audit.jsonl"
    progress = Counted()
    capsys.readouterr()
    # WHEN it is replayed with an audit file of its own, its progress followed
    report = replay_stream_failures(
        ops.target, FAILURES, ReplayOptions(audit_path=audit), progress=progress
    ).to_json()
    # THEN the report names the queue, the worker and the range, read from the stream
    assert (report["source"], report["destination"], report["dry_run"]) == (
        FAILURES,
        "worker:relay",
        False,
    )
    [row] = report["moved"]
    assert {k: v for k, v in row.items() if k != "message_id"} == {
        "shard_id": shard,
        "start_sequence": seqs[0],
        "end_sequence": seqs[2],
        "records": 3,
        "via": "stream",
        "object": None,
    }
    # AND the move is audited in that file, under the failure record's message id
    [line] = [json.loads(text) for text in audit.read_text().splitlines()]
    assert (line["action"], line["source"], line["destination"], line["message_id"]) == (
        "stream-replay",
        FAILURES,
        "worker:relay",
        row["message_id"],
    )
    assert (progress.total, progress.advanced) == (1, [1])
    # AND the relay's log went to stderr: stdout is the report's alone
    out, err = capsys.readouterr()
    assert "relayed stream batch" in err and "relayed stream batch" not in out


def test_failures_outside_the_filter_are_counted_and_left_and_max_bounds_the_run(
    ops: Ops,
) -> None:
    # GIVEN three failure records, one of them a batch of two
    _write_orders(ops, 3)
    arn, shard, records = _stream_records(ops)
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    ops.send_raw(FAILURES, _on_failure(arn, shard, seqs[0], seqs[0], 1))
    ops.send_raw(FAILURES, _on_failure(arn, shard, seqs[1], seqs[2], 2))
    ops.send_raw(FAILURES, _on_failure(arn, shard, seqs[2], seqs[2], 1))
    later = datetime.now(UTC) + timedelta(hours=1)
    # WHEN replayed with a window that ends before they failed THEN all three are filtered
    early = ReplayOptions(filter=MessageFilter(since=later), dry_run=True)
    assert replay_stream_failures(ops.target, FAILURES, early).filtered == 3
    # WHEN selected by the batch info THEN only the batch of two goes through
    pairs = ReplayOptions(filter=MessageFilter.build(where="DDBStreamBatchInfo.batchSize == `2`"))
    report = replay_stream_failures(ops.target, FAILURES, pairs).to_json()
    assert (report["counts"]["moved"], report["counts"]["skipped_by_filter"]) == (1, 2)
    assert report["moved"][0]["records"] == 2
    # WHEN at most one is replayed THEN one of the two left moves
    assert len(replay_stream_failures(ops.target, FAILURES, ReplayOptions(limit=1)).moved) == 1
    assert ops.count(FAILURES) == 1


def test_records_that_fail_again_keep_their_failure_record_naming_the_first_five(
    ops: Ops,
) -> None:
    # GIVEN six orders whose replayed events SNS refuses every time
    _write_orders(ops, 6)
    arn, shard, records = _stream_records(ops)
    seqs = sorted(str(r["dynamodb"]["SequenceNumber"]) for r in records)
    ops.send_raw(FAILURES, _on_failure(arn, shard, int(seqs[0]), int(seqs[-1]), 6))
    EntryFaults(ops.pipeline.clients.sns, "PublishBatch", fails=lambda _: True)
    # WHEN replayed
    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()
    # THEN the failure record stays, its reason naming how many failed and the first five
    [failed] = report["failed"]
    assert failed["reason"] == f"6 records failed again: {seqs[:5]}"
    assert failed["message_id"]
    assert ops.count(FAILURES) == 1
    assert ops.audit() == []


def test_a_record_naming_the_table_in_another_account_is_refused(ops: Ops) -> None:
    _write_orders(ops, 1)
    arn, shard, [record] = _stream_records(ops)
    sequence = int(record["dynamodb"]["SequenceNumber"])
    foreign = arn.replace(":123456789012:", ":999999999999:")
    ops.send_raw(FAILURES, _on_failure(foreign, shard, sequence, sequence, 1))

    report = replay_stream_failures(ops.target, FAILURES, ReplayOptions()).to_json()

    assert report["refused"][0]["reason"].startswith(f"names stream {foreign}, not one of table")
    assert _published(ops) == []
