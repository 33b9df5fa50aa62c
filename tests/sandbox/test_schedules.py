"""The sandbox's scheduler: slots on a manual clock, exactly once across a restart, double
fires absorbed downstream, undeliverable fires dead-lettered and replayed, and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app import APP
from events import STOCK_AUDIT_REQUESTED
from sluice.app import SCHEDULED_TIME, App, Schedule
from sluice.cli import build
from sluice.demo import wait_until
from sluice.local.logs import LogSink
from sluice.local.sandbox import Sandbox
from sluice.local.scheduler import CATCH_UP, STATE_FILE, ManualClock, fire
from sluice.ops.dlq_replay import replay_dlq
from sluice.ops.inspect import list_dlqs, show
from sluice.ops.replay import ReplayOptions
from sluice.target import connect

pytestmark = pytest.mark.sandbox

START = datetime(2026, 11, 30, 9, 0, 30, tzinfo=UTC)
EVERY_MINUTE = Schedule(
    "every-minute",
    "rate(1 minute)",
    STOCK_AUDIT_REQUESTED,
    {"scope": "minutely", "requested_by": "test"},
)


def app_with(*schedules: Schedule) -> App:
    return replace(APP, schedules=schedules)


def audits(box: Sandbox, scope: str) -> dict[str, dict[str, Any]]:
    """The stocktake worker's audit items for ``scope``, by slot."""
    assert box.clients is not None
    items = box.clients.dynamodb.query(
        TableName=box.topology.table("state"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"STOCKTAKE#{scope}"}},
        ConsistentRead=True,
    )["Items"]
    return {i["sk"]["S"]: i for i in items}


def settle(box: Sandbox, scope: str, count: int) -> dict[str, dict[str, Any]]:
    assert wait_until(lambda: len(audits(box, scope)) >= count, 30)
    return audits(box, scope)


def test_slots_fire_once_each_across_a_restart_and_a_double_fire_is_absorbed(
    tmp_path: Path,
) -> None:
    # GIVEN a sandbox with a rate(1 minute) schedule, a manual clock and a slot file
    clock = ManualClock(START)
    state = tmp_path / STATE_FILE
    app = app_with(EVERY_MINUTE)
    with Sandbox(app=app, clock=clock, schedule_state=state, serve_api=False) as box:
        assert box.scheduler is not None
        # WHEN nothing is due yet, THEN nothing fires
        assert box.scheduler.tick() == []
        # WHEN the clock jumps three minutes (no sleeping)
        clock.advance(timedelta(minutes=3))
        fired = box.scheduler.tick()
        # THEN three slots fire, oldest first, each with its deterministic id
        assert [f.slot for f in fired] == [
            "2026-11-30T09:01:00Z",
            "2026-11-30T09:02:00Z",
            "2026-11-30T09:03:00Z",
        ]
        assert [f.event_id for f in fired] == [f"schedule:every-minute:{f.slot}" for f in fired]
        assert box.scheduler.tick() == []  # nothing twice
        done = settle(box, "minutely", 3)
        assert {k: v["runs"]["N"] for k, v in done.items()} == {
            "2026-11-30T09:01:00.000Z": "1",
            "2026-11-30T09:02:00.000Z": "1",
            "2026-11-30T09:03:00.000Z": "1",
        }
        # WHEN the same slot fires again (a Scheduler retry, say)
        again = fire(
            box.clients,  # type: ignore[arg-type]
            box.topology,
            EVERY_MINUTE,
            datetime(2026, 11, 30, 9, 2, tzinfo=UTC),
            lambda name: box.provisioned.topic_arn,  # type: ignore[union-attr]
        )
        assert again.event_id == "schedule:every-minute:2026-11-30T09:02:00Z"
        assert wait_until(lambda: box.tally.count("stocktake", "duplicates") >= 1, 30)
        # THEN the worker absorbed it: still one run for that slot
        assert audits(box, "minutely")["2026-11-30T09:02:00.000Z"]["runs"]["N"] == "1"
    assert json.loads(state.read_text()) == {"every-minute": "2026-11-30T09:03:00+00:00"}

    # WHEN the sandbox restarts two minutes later on the same slot file
    clock.advance(timedelta(minutes=2))
    with Sandbox(app=app, clock=clock, schedule_state=state, serve_api=False) as box:
        assert box.scheduler is not None
        fired = box.scheduler.tick()
        # THEN exactly the two slots it missed fire, none of the earlier three
        assert [f.slot for f in fired] == ["2026-11-30T09:04:00Z", "2026-11-30T09:05:00Z"]
        # WHEN it was down far longer than CATCH_UP slots
        clock.advance(timedelta(minutes=CATCH_UP + 5))
        fired = box.scheduler.tick()
        # THEN only the newest CATCH_UP slots fire (the log says how many were skipped)
        assert len(fired) == CATCH_UP
        assert fired[-1].slot == "2026-11-30T09:20:00Z"


def test_an_undeliverable_fire_is_dead_lettered_and_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a schedule that sends straight to the stocktake worker's queue
    direct = Schedule(
        "direct",
        "cron(0 2 * * ? *)",
        STOCK_AUDIT_REQUESTED,
        {"scope": "direct"},
        timezone="Europe/Paris",
        target="stocktake",
    )
    clock = ManualClock(START)
    app = app_with(direct)
    # stocktake's queue is read by this test alone (no poller), so the replayed message waits
    with Sandbox(
        app=app,
        clock=clock,
        sink=LogSink(tmp_path / "sandbox.log"),
        serve_api=False,
        hosted_elsewhere=("stocktake",),
    ) as box:
        assert box.scheduler is not None and box.clients is not None
        queue = box.topology.schedule_target(direct)
        assert queue == "sluice-stocktake"
        # WHEN the night comes (02:00 Paris = 01:00 UTC) and the target queue is gone
        box.clients.sqs.delete_queue(QueueUrl=box.queue_url(queue))
        clock.advance(timedelta(hours=16, minutes=1))
        (fired,) = box.scheduler.tick()
        # THEN the fire goes to the schedule's DLQ, in EventBridge Scheduler's shape
        assert fired.slot == "2026-12-01T01:00:00Z" and fired.message_id is None
        monkeypatch.setenv("SLUICE_STATE_DIR", str(tmp_path))
        box.state(tmp_path / "sandbox.log").save()
        target = connect(local=True, app=app)
        dlq = box.topology.schedule_dlq(direct)
        (row,) = [r for r in list_dlqs(target) if r["name"] == dlq]
        assert (row["kind"], row["source"], row["depth"]) == ("schedule", queue, 1)
        (shown,) = show(target, dlq)
        assert shown["envelope_id"] == "schedule:direct:2026-12-01T01:00:00Z"
        assert shown["type"] == STOCK_AUDIT_REQUESTED
        assert "NonExistentQueue" in (shown["reason"] or "") + (shown["detail"] or "")
        # WHEN the queue is back and the DLQ is replayed to its home (the schedule's target)
        recreated = box.clients.sqs.create_queue(QueueName=queue)["QueueUrl"]
        report = replay_dlq(target, dlq, ReplayOptions())
        # THEN the envelope, with its attributes, reaches the queue; the DLQ is empty
        assert len(report.moved) == 1 and report.failed == []
        (message,) = box.clients.sqs.receive_message(
            QueueUrl=recreated, MessageAttributeNames=["All"], WaitTimeSeconds=1
        )["Messages"]
        assert json.loads(message["Body"])["id"] == "schedule:direct:2026-12-01T01:00:00Z"
        assert message["MessageAttributes"]["event_type"]["StringValue"] == STOCK_AUDIT_REQUESTED
        assert [r["depth"] for r in list_dlqs(target) if r["name"] == dlq] == [0]


def test_the_cli_lists_next_fires_and_fires_one_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLUICE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    with Sandbox(sink=LogSink(tmp_path / "sandbox.log"), serve_api=False) as box:
        box.state(tmp_path / "sandbox.log").save()
        runner = CliRunner()
        # WHEN listing, THEN the nightly schedule shows its next three 02:00 Paris slots
        listed = runner.invoke(build(), ["schedule", "ls", "--local", "--json"])
        assert listed.exit_code == 0, listed.output
        (row,) = json.loads(listed.stdout)
        assert row["name"] == "nightly-stocktake" and row["target"] == "sluice-events"
        assert len(row["next"]) == 3
        assert all(n.split("T")[1].startswith("02:00:00+0") for n in row["next"])
        # WHEN one slot is fired by hand, twice
        args = ["schedule", "fire", "nightly-stocktake", "--local", "--json"]
        slot = ["--at", "2026-12-01T01:00:00Z"]
        first = runner.invoke(build(), [*args, *slot])
        second = runner.invoke(build(), [*args, *slot])
        assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
        assert json.loads(first.stdout)["event_id"] == json.loads(second.stdout)["event_id"]
        # THEN the stocktake worker records it once
        done = settle(box, "all", 1)
        assert wait_until(lambda: box.tally.count("stocktake", "duplicates") >= 1, 30)
        assert {k: v["runs"]["N"] for k, v in audits(box, "all").items()} == {
            "2026-12-01T01:00:00.000Z": "1"
        }
        assert done
        # ... and an unknown name is refused with the known ones
        refused = runner.invoke(build(), ["schedule", "fire", "nope", "--local"])
        assert refused.exit_code == 2
        assert "nightly-stocktake" in refused.output


def test_the_sandbox_fills_the_slot_into_a_payload_that_asks_for_it() -> None:
    # GIVEN a schedule whose payload carries the slot it fires for (its scope, here)
    slotted = replace(EVERY_MINUTE, name="slotted", payload={"scope": SCHEDULED_TIME})
    clock = ManualClock(START)
    with Sandbox(app=app_with(slotted), clock=clock, serve_api=False) as box:
        assert box.scheduler is not None
        # WHEN two slots fire
        clock.advance(timedelta(minutes=2))
        assert len(box.scheduler.tick()) == 2
        # THEN the worker received each slot in the data, as EventBridge Scheduler fills it
        for slot in ("2026-11-30T09:01:00Z", "2026-11-30T09:02:00Z"):
            assert list(settle(box, slot, 1)) == [slot.replace(":00Z", ":00.000Z")]
