"""``sluice dlq ls`` and ``show``: every DLQ listed, messages decoded, nothing consumed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from sluice.ops.inspect import list_dlqs, show
from tests.factories import placed, sns_wrapped
from tests.functional.dlq_fixtures import Ops, cli, cli_json, ops_fixture  # noqa: F401


def test_ls_lists_every_dlq_with_depth_age_and_source(ops: Ops) -> None:
    # GIVEN two dead letters for inventory and none elsewhere
    ops.dead_letter("inventory", [placed(), placed()])

    # WHEN listing
    rows = {r["name"]: r for r in list_dlqs(ops.target)}

    # THEN every DLQ of the topology is there, with its kind, source and depth
    expected = {d.name for d in ops.pipeline.topology.dlqs()}
    assert set(rows) == expected
    assert {"sluice-inventory-sub-dlq", "sluice-relay-stream-failures"} <= set(rows)
    assert rows["sluice-inventory-dlq"]["depth"] == 2
    assert rows["sluice-inventory-dlq"]["source"] == "sluice-inventory"
    assert rows["sluice-inventory-dlq"]["oldest_age_s"] is not None
    assert rows["sluice-inventory-dlq"]["oldest_age_s"] >= 0
    assert rows["sluice-receipts-dlq"]["depth"] == 0
    assert rows["sluice-receipts-dlq"]["oldest_age_s"] is None
    assert rows["sluice-relay-stream-failures"]["kind"] == "stream-failure"
    assert rows["sluice-ledger-dlq.fifo"]["fifo"] is True
    # AND looking left both messages visible
    assert ops.visible("sluice-inventory-dlq") == 2


def test_show_decodes_envelope_failure_and_receive_history(ops: Ops) -> None:
    event = placed()
    ops.dead_letter("inventory", [event], reason="invalid_payload")

    [row] = show(ops.target, "sluice-inventory-dlq")

    assert row["envelope_id"] == event.id
    assert row["type"] == "order.placed"
    assert row["correlation_id"] == event.correlation_id
    assert row["reason"] == "invalid_payload"
    assert row["detail"] == "invalid_payload detail"
    assert row["failed_worker"] == "inventory"
    assert row["receive_count"] == 3
    assert row["dead_lettered_at"] is not None
    assert row["sent_at"] is not None
    assert ops.visible("sluice-inventory-dlq") == 1


def test_show_reports_no_receive_time_later_than_the_dead_lettering(ops: Ops) -> None:
    # GIVEN a dead letter, and a moment after it was dead-lettered
    ops.dead_letter("inventory", [placed()])
    landed = datetime.now(UTC)
    time.sleep(0.05)

    # WHEN it is peeked at twice (every peek is a receive in the DLQ)
    show(ops.target, "inventory")
    [row] = show(ops.target, "inventory")

    # THEN every time shown is from before the peeks: none is the time of a peek posing as
    # the worker's first receive, and the worker's count is not raised by the peeks
    times = {k: v for k, v in row.items() if (k.endswith("_at") or "receive" in k) and v}
    stamps = {k: datetime.fromisoformat(v) for k, v in times.items() if isinstance(v, str)}
    assert {"dead_lettered_at", "sent_at"} <= set(stamps)
    assert all(moment <= landed for moment in stamps.values()), stamps
    assert stamps["dead_lettered_at"] <= stamps["sent_at"]
    assert row["receive_count"] == 3
    assert row["sqs_receive_count"] == 2  # SQS's own count: the two peeks


def test_ls_leaves_every_dlq_message_unreceived(ops: Ops) -> None:
    # GIVEN dead letters in two DLQs
    ops.dead_letter("inventory", [placed(), placed()])
    ops.send_raw("sluice-audit-sub-dlq", sns_wrapped(placed()))

    # WHEN listing twice, in process and through the CLI
    rows = {r["name"]: r for r in list_dlqs(ops.target)}
    cli_json("ls")

    # THEN the oldest age is known (CloudWatch's metric, which the sandbox answers too)
    assert rows["sluice-inventory-dlq"]["oldest_age_s"] is not None
    assert rows["sluice-audit-sub-dlq"]["oldest_age_s"] is not None
    # AND no message was ever received: each one's first receive is this one
    for name, held in (("sluice-inventory-dlq", 2), ("sluice-audit-sub-dlq", 1)):
        counts = [m["Attributes"]["ApproximateReceiveCount"] for m in ops.pipeline.drain(name)]
        assert counts == ["1"] * held, name


def test_show_unwraps_sns_notifications_and_names_bad_bodies(ops: Ops) -> None:
    event = placed()
    ops.send_raw("sluice-audit-sub-dlq", sns_wrapped(event))
    ops.send_raw("sluice-audit-sub-dlq", "this is not json")

    rows = show(ops.target, "sluice-audit-sub-dlq")

    assert [r["envelope_id"] for r in rows] == [event.id, None]
    assert rows[1]["problem"].startswith("malformed_json")
    assert ops.visible("sluice-audit-sub-dlq") == 2


def test_show_peeks_past_the_first_batch_and_releases_everything(ops: Ops) -> None:
    events = [placed() for _ in range(25)]
    ops.dead_letter("inventory", events)

    rows = show(ops.target, "inventory", limit=25)

    assert sorted(r["envelope_id"] for r in rows) == sorted(e.id for e in events)
    assert ops.visible("sluice-inventory-dlq") == 25


def test_show_stream_failure_records_show_shard_and_range(ops: Ops) -> None:
    record = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 4},
        "responseContext": {"statusCode": 200},
        "version": "1.0",
        "timestamp": "2026-11-23T18:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-1",
            "startSequenceNumber": "100",
            "endSequenceNumber": "104",
            "approximateArrivalOfFirstRecord": "2026-11-23T17:59:00.000Z",
            "approximateArrivalOfLastRecord": "2026-11-23T17:59:01.000Z",
            "batchSize": 5,
            "streamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/sluice-orders/stream/x",
        },
    }
    ops.send_raw("sluice-relay-stream-failures", json.dumps(record))

    [row] = show(ops.target, "relay")

    assert row["stream"]["shard_id"] == "shardId-1"
    assert (row["stream"]["start_sequence"], row["stream"]["end_sequence"]) == ("100", "104")
    assert row["stream"]["batch_size"] == 5
    assert row["problem"] is None


def test_cli_ls_and_show_print_json(ops: Ops) -> None:
    event = placed()
    ops.dead_letter("inventory", [event])

    listed = cli_json("ls")
    shown = cli_json("show", "sluice-inventory-dlq", "--max", "5")

    assert {r["name"]: r["depth"] for r in listed}["sluice-inventory-dlq"] == 1
    assert [r["envelope_id"] for r in shown] == [event.id]


def test_cli_show_prints_a_readable_table(ops: Ops) -> None:
    event = placed()
    ops.dead_letter("inventory", [event])

    result = cli("show", "inventory")

    assert result.exit_code == 0, result.output
    assert event.id in result.stdout
    assert "reason=invalid_payload" in result.stdout
    assert "receives=3 dead-lettered=" in result.stdout and "first=" not in result.stdout


def test_unknown_dlq_is_a_clear_error(ops: Ops) -> None:
    result = cli("show", "nope")

    assert result.exit_code == 2
    assert "no DLQ named 'nope'" in result.stderr
    assert "sluice-inventory-dlq" in result.stderr
    assert cli_json("show", "nope")["error"].startswith("no DLQ named 'nope'")
