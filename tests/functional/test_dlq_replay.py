"""``sluice dlq replay``: filters, dry-run, limits, destinations, and what a replay keeps."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from app import APP
from events import PAYMENT_CAPTURED
from sluice.local.scheduler import fire
from sluice.ops.destinations import Outgoing, resolve
from sluice.ops.errors import DestinationError, FilterError, UnknownDlqError, UnsupportedError
from sluice.ops.filters import MessageFilter
from sluice.ops.native import native_move
from sluice.ops.ratelimit import batch_size
from sluice.ops.replay import ReplayOptions, replay
from sluice.ops.scan import Scanner
from sluice.runtime import Clients, queues
from sluice.schedule import Schedule
from sluice.target import Target
from tests.conftest import Pipeline
from tests.factories import cancelled, payment, placed, sqs_event
from tests.functional.dlq_fixtures import Ops, cli, cli_json, counts, ops_fixture  # noqa: F401
from tests.functional.faults import CallFaults, EntryFaults

DLQ = "sluice-inventory-dlq"
SOURCE = "sluice-inventory"


def _replay(ops: Ops, name: str = DLQ, **options: Any) -> dict[str, Any]:
    return replay(ops.target, name, ReplayOptions(**options)).to_json()


def test_replay_sends_back_to_the_source_queue_and_audits_each_move(ops: Ops) -> None:
    events = [placed() for _ in range(12)]
    ops.dead_letter("inventory", events)

    report = _replay(ops)

    assert report["counts"] == counts(moved=12)
    assert (report["interrupted"], report["entered_during_replay"]) == (False, 0)
    assert sorted(m["envelope_id"] for m in report["moved"]) == sorted(e.id for e in events)
    assert ops.count(DLQ) == 0
    assert sorted(ops.envelope_ids(SOURCE)) == sorted(e.id for e in events)
    audit = ops.audit()
    assert sorted(a["envelope_id"] for a in audit) == sorted(e.id for e in events)
    assert {(a["source"], a["destination"], a["action"]) for a in audit} == {
        (DLQ, SOURCE, "replay")
    }
    assert all(a["operator"].startswith("local:") and a["message_id"] for a in audit)
    assert all(a["detail"] == "invalid_payload" for a in audit)


def test_replay_names_its_source_and_destination_and_audits_to_the_chosen_file(
    ops: Ops, tmp_path: Path
) -> None:
    events = [placed() for _ in range(12)]
    ops.dead_letter("inventory", events)
    audit = tmp_path / "moves.jsonl"

    report = _replay(ops, audit_path=audit)

    assert (report["source"], report["destination"], report["dry_run"]) == (DLQ, SOURCE, False)
    assert sorted(row["envelope_id"] for row in report["moved"]) == sorted(e.id for e in events)
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert sorted(line["envelope_id"] for line in lines) == sorted(e.id for e in events)


def test_replay_keeps_body_and_attributes_and_drops_the_failure_ones(ops: Ops) -> None:
    event = placed()
    attributes = {
        "event_type": {"dataType": "String", "stringValue": "order.placed"},
        "tenant": {"dataType": "Number", "stringValue": "42"},
        "blob": {"dataType": "Binary", "binaryValue": "AAEC"},
    }
    ops.dead_letter("inventory", [event], attributes=attributes)

    _replay(ops)

    [message] = ops.pipeline.drain(SOURCE)
    assert message["Body"] == event.to_json()
    got = message["MessageAttributes"]
    assert set(got) == {"event_type", "tenant", "blob"}
    assert got["tenant"] == {"DataType": "Number", "StringValue": "42"}
    assert got["blob"]["BinaryValue"] == b"\x00\x01\x02"
    assert not set(got) & set(queues.FAILURE_ATTRIBUTES)


def test_fifo_replay_keeps_group_and_order_and_dedups_a_repeat(ops: Ops) -> None:
    first, second = payment("acct-1", 100), payment("acct-1", 250)
    other = payment("acct-2", 5)
    ops.dead_letter("ledger", [first, second], group_id="acct-1")
    ops.dead_letter("ledger", [other], group_id="acct-2")
    # keep a copy of what the replay will move, to send it again as a crashed replay would
    with Scanner(ops.target.clients.sqs, ops.pipeline.url("sluice-ledger-dlq.fifo")) as peek:
        before = [m for batch in peek.batches() for m in batch]

    report = _replay(ops, "sluice-ledger-dlq.fifo")
    # AND the same DLQ messages are sent again, as a replay retried after a crash would
    # (moto, like SQS, dedups against what is still on the queue)
    again = [Outgoing.replay_of(m, "sluice-ledger-dlq.fifo") for m in before]
    resolve(ops.target, "sluice-ledger.fifo").send(ops.target.clients, again)

    # THEN each message arrived once, in its group, in order
    assert report["counts"]["moved"] == 3
    moved = ops.pipeline.drain("sluice-ledger.fifo")
    by_group = {
        g: [json.loads(m["Body"])["id"] for m in moved if m["Attributes"]["MessageGroupId"] == g]
        for g in ("acct-1", "acct-2")
    }
    assert by_group == {"acct-1": [first.id, second.id], "acct-2": [other.id]}
    assert {m["Attributes"]["MessageDeduplicationId"] for m in moved} == {o.dedup_id for o in again}


@pytest.mark.parametrize(
    ("options", "moved"),
    [
        ({"types": ["order.cancelled"]}, {"c1"}),
        ({"types": ["order.*"]}, {"p1", "p2", "c1"}),
        ({"ids": ["p2"]}, {"p2"}),
        ({"where": "data.items[0].sku == 'SKU-9'"}, {"p2"}),
        ({"where": "data.items[0].quantity > `1`"}, {"p2", "c1"}),
        ({"types": ["order.placed"], "where": "data.items[0].quantity > `1`"}, {"p2"}),
        ({"types": ["order.placed"], "ids": ["p1", "c1"]}, {"p1"}),
        ({"since": "1h", "types": ["order.cancelled"]}, {"c1"}),
        ({"until": "1h"}, set()),
    ],
)
def test_filters_and_combinations(ops: Ops, options: dict[str, Any], moved: set[str]) -> None:
    events = {
        "p1": placed(sku="SKU-1", quantity=1),
        "p2": placed(sku="SKU-9", quantity=3),
        "c1": cancelled("ord-c", sku="SKU-1", quantity=2),
    }
    by_id = {e.id: k for k, e in events.items()}
    ops.dead_letter("inventory", events.values())
    if "ids" in options:  # a copy: the parameters are shared by every run in the process
        options = {**options, "ids": [events[k].id for k in options["ids"]]}

    report = _replay(ops, filter=MessageFilter.build(**options))

    assert {by_id[i] for i in ops.envelope_ids(SOURCE)} == moved
    assert report["counts"]["moved"] == len(moved)
    assert report["counts"]["skipped_by_filter"] == 3 - len(moved)
    # the others are still there and can be received at once
    assert ops.visible(DLQ) == 3 - len(moved)


def test_since_and_until_bound_the_failure_time(ops: Ops) -> None:
    early = placed()
    ops.dead_letter("inventory", [early])
    time.sleep(1.1)
    middle = datetime.now(UTC)
    late = placed()
    ops.dead_letter("inventory", [late])
    cut = middle.isoformat()

    after = _replay(ops, filter=MessageFilter.build(since=cut), dry_run=True)
    before = _replay(ops, filter=MessageFilter.build(until=cut), dry_run=True)

    assert [m["envelope_id"] for m in after["moved"]] == [late.id]
    assert [m["envelope_id"] for m in before["moved"]] == [early.id]


def test_message_id_filter_matches_the_sqs_message_id(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed(), placed()])
    [first, _] = ops.target.clients.sqs.receive_message(
        QueueUrl=ops.pipeline.url(DLQ), MaxNumberOfMessages=10, VisibilityTimeout=0
    )["Messages"]

    report = _replay(ops, filter=MessageFilter.build(ids=[first["MessageId"]]))

    assert [m["message_id"] for m in report["moved"]] == [first["MessageId"]]


def test_dry_run_prints_what_would_move_and_moves_nothing(ops: Ops) -> None:
    events = [placed() for _ in range(3)]
    ops.dead_letter("inventory", events)

    result = cli("replay", DLQ, "--dry-run", "--max", "2")

    assert result.exit_code == 0, result.output
    assert result.stdout.count("would move") == 3  # two lines and the summary
    assert "would move 2" in result.stdout
    assert ops.count(SOURCE) == 0
    assert ops.visible(DLQ) == 3
    assert not ops.audit_file.exists(), "a dry run does not even open the audit log"


def test_max_moves_at_most_n_and_leaves_the_rest(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed() for _ in range(15)])

    report = cli_json("replay", DLQ, "--max", "4")

    assert report["counts"]["moved"] == 4
    assert ops.count(SOURCE) == 4
    assert ops.visible(DLQ) == 11


def test_bodies_that_are_not_envelopes_are_skipped_with_the_reason(ops: Ops) -> None:
    ops.send_raw(DLQ, "{not json")
    ops.send_raw(DLQ, json.dumps({"id": "x"}))
    ops.dead_letter("inventory", [placed()])

    report = _replay(ops)

    assert report["counts"]["moved"] == 1
    reasons = sorted(s["reason"] for s in report["skipped"])
    assert reasons[0].startswith("not an envelope: invalid_envelope")
    assert reasons[1].startswith("not an envelope: malformed_json")
    assert all(s["message_id"] for s in report["skipped"])
    assert ops.visible(DLQ) == 2


def test_to_a_topic_fans_out_to_the_subscribers(ops: Ops) -> None:
    event = placed()
    ops.dead_letter("receipts", [event])

    report = _replay(ops, "sluice-receipts-dlq", to="sluice-events")

    assert report["destination"] == "sluice-events"
    # order.placed reaches inventory, receipts and audit (raw delivery: the envelope itself)
    for queue in ("sluice-inventory", "sluice-receipts", "sluice-audit"):
        assert ops.envelope_ids(queue) == [event.id]


def test_to_another_queue_by_url(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed()])

    _replay(ops, to=ops.pipeline.url("sluice-audit"))

    assert ops.count("sluice-audit") == 1
    assert ops.count(DLQ) == 0


def test_replaying_twice_has_one_effect_downstream(ops: Ops) -> None:
    # GIVEN an order event dead-lettered twice (e.g. SNS delivered it twice)
    event = placed(sku="SKU-7", quantity=2)
    ops.dead_letter("inventory", [event])
    _replay(ops)
    ops.dead_letter("inventory", [event])
    _replay(ops)
    # WHEN the inventory worker consumes both replayed copies
    inventory = ops.pipeline.worker("inventory")
    messages = ops.pipeline.drain(SOURCE)
    assert len(messages) == 2
    for message in messages:
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:eu-west-1:123456789012:{SOURCE}",
        }
        assert inventory.handler(sqs_event(record), None) == {"batchItemFailures": []}
    # THEN stock moved once
    assert ops.pipeline.stock("SKU-7") == {"reserved": 2, "reservations": 1}


def test_rate_limit_is_honoured_in_every_window(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed() for _ in range(60)])
    rate = 20

    started = time.monotonic()
    report = _replay(ops, rate=float(rate))
    elapsed = time.monotonic() - started

    assert report["counts"]["moved"] == 60
    sent = sorted(int(m["Attributes"]["SentTimestamp"]) for m in ops.pipeline.drain(SOURCE))
    burst = batch_size(float(rate))  # one call's worth: 2 at 20/s, i.e. within 10%
    for start in sent:  # any one-second window holds at most `rate` + 10% sends
        assert sum(1 for t in sent if start <= t < start + 1000) <= rate + burst
    assert elapsed >= (60 / rate) * 0.9
    # and it does not crawl: a bound loose enough for a loaded 2-core machine (the paced
    # speed itself is measured in bench/, not asserted here)
    assert elapsed <= (60 / rate) * 3


def test_malformed_jmespath_fails_before_anything_moves(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed()])

    with pytest.raises(FilterError, match="not valid JMESPath"):
        MessageFilter.build(where="data.items[")
    result = cli("replay", DLQ, "--where", "data.items[")

    assert result.exit_code == 2
    assert "--where 'data.items[' is not valid JMESPath" in result.stderr
    assert ops.visible(DLQ) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since 'yesterday' is neither an ISO 8601 time"),
        (["--rate", "fast"], "--rate 'fast' must be a positive number"),
        (["--since", "1h", "--until", "2h"], "is after --until"),
    ],
)
def test_bad_options_are_clear_errors(ops: Ops, args: list[str], message: str) -> None:
    ops.dead_letter("inventory", [placed()])

    result = cli("replay", DLQ, *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert ops.visible(DLQ) == 1


def test_destination_that_is_neither_queue_nor_topic(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed()])

    with pytest.raises(DestinationError, match="neither a queue nor a topic"):
        _replay(ops, to="sluice-nowhere")
    with pytest.raises(DestinationError, match="no such topic"):
        _replay(ops, to="arn:aws:sns:eu-west-1:123456789012:nope")

    assert ops.visible(DLQ) == 1
    assert ops.audit() == []


def test_unknown_dlq(ops: Ops) -> None:
    with pytest.raises(UnknownDlqError, match="no DLQ named 'inventory-dlq'"):
        _replay(ops, "inventory-dlq")


def test_native_is_refused_on_the_sandbox_with_a_reason(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed()])

    with pytest.raises(UnsupportedError, match="moto\\) has no StartMessageMoveTask"):
        native_move(ops.target, DLQ, ReplayOptions())
    result = cli("replay", DLQ, "--native", "--type", "order.placed")

    assert result.exit_code == 2
    assert "--native moves the whole DLQ" in result.stderr
    assert ops.visible(DLQ) == 1


def test_native_against_an_endpoint_without_move_tasks(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed()])

    result = cli("replay", DLQ, "--native")

    assert result.exit_code == 2
    assert "drop --native" in result.stderr
    assert ops.visible(DLQ) == 1


def test_cli_replay_json_summary(ops: Ops) -> None:
    events = [placed(), cancelled("ord-1")]
    ops.dead_letter("inventory", events)

    report = cli_json("replay", "inventory", "--type", "order.cancelled")

    assert report["counts"] == counts(moved=1, skipped_by_filter=1)
    assert report["moved"][0]["envelope_id"] == events[1].id
    assert ops.audit()[0]["operator"].startswith("arn:aws:")  # STS caller identity


def test_non_matching_messages_are_visible_at_once_after_the_pass(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed() for _ in range(5)])
    since = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    _replay(ops, filter=MessageFilter.build(since=since), hold_s=300)

    assert ops.visible(DLQ) == 5


def test_a_send_that_fails_leaves_every_message_in_the_dlq(ops: Ops) -> None:
    # catches: replay deleting before it sends (a failed send would then lose the chunk)
    events = [placed() for _ in range(12)]
    ops.dead_letter("inventory", events)
    # GIVEN a destination that refuses every SendMessageBatch as a whole
    faults = CallFaults(ops.target.clients.sqs, "SendMessageBatch", times=100, code="AccessDenied")

    # WHEN a replay runs, THEN it stops at the first send
    with pytest.raises(ClientError, match="AccessDenied"):
        _replay(ops)

    # AND every message is still in the DLQ, visible at once, and nothing was audited
    assert faults.calls == 1
    assert ops.visible(DLQ) == 12
    assert sorted(ops.envelope_ids(DLQ)) == sorted(e.id for e in events)
    assert ops.count(SOURCE) == 0
    assert ops.audit() == []


def test_sends_sqs_refused_stay_in_the_dlq_and_the_rest_move_once(ops: Ops) -> None:
    # catches: replay deleting (and auditing) the whole chunk, including the sends SQS refused
    events = [placed() for _ in range(12)]
    ops.dead_letter("inventory", events)
    refused = {events[3].id, events[10].id}  # one in each chunk of 10
    # GIVEN SQS refuses two entries of the SendMessageBatch calls, as a partial failure
    EntryFaults(
        ops.target.clients.sqs,
        "SendMessageBatch",
        fails=lambda body: json.loads(body)["id"] in refused,
    )

    report = _replay(ops)

    # THEN the report names the refused two, with SQS's reason, and the others as moved
    assert report["counts"] == counts(moved=10, failed=2)
    assert {f["reason"] for f in report["failed"]} == {"send failed: InternalError: injected"}
    assert sorted(r["envelope_id"] for r in report["moved"]) == sorted(
        e.id for e in events if e.id not in refused
    )
    # AND exactly the refused two are left in the DLQ; the others arrived once, audited once
    assert sorted(ops.envelope_ids(DLQ)) == sorted(refused)
    moved = sorted(e.id for e in events if e.id not in refused)
    assert sorted(ops.envelope_ids(SOURCE)) == moved
    assert sorted(a["envelope_id"] for a in ops.audit()) == moved
    failed_ids = {f["message_id"] for f in report["failed"]}
    assert failed_ids.isdisjoint(a["message_id"] for a in ops.audit())


def test_a_refused_fifo_send_holds_back_the_rest_of_its_group(ops: Ops) -> None:
    # catches: replay not blocking a FIFO group after a refused send (blocked_groups), which
    # would deliver the group's later messages before the refused one
    p1, p2, p3, p4 = (payment("acct-1", n, f"p{n}") for n in range(1, 5))
    q1 = payment("acct-2", 9, "q1")
    ops.dead_letter("ledger", [p1, p2, p3, p4], group_id="acct-1")
    ops.dead_letter("ledger", [q1], group_id="acct-2")
    EntryFaults(ops.target.clients.sqs, "SendMessageBatch", fails=lambda b: p2.id in b)

    # WHEN a replay sends two at a time (--rate 20/s), so p3 and p4 come after p2's refusal
    report = _replay(ops, "sluice-ledger-dlq.fifo", rate=20.0)

    # THEN p2 failed, p3 and p4 were held back, and acct-2 went on
    reasons = {f["message_id"]: f["reason"] for f in report["failed"]}
    assert sorted(reasons.values()) == [
        "an earlier message of its FIFO group failed to send",
        "an earlier message of its FIFO group failed to send",
        "send failed: InternalError: injected",
    ]
    assert [json.loads(m["Body"])["id"] for m in ops.pipeline.drain("sluice-ledger.fifo")] == [
        p1.id,
        q1.id,
    ]
    assert ops.envelope_ids("sluice-ledger-dlq.fifo") == [p2.id, p3.id, p4.id]


def test_a_refused_delete_is_reported_as_in_both_queues(ops: Ops) -> None:
    # catches: replay counting a message as moved when SQS refused its delete from the DLQ
    events = [placed() for _ in range(3)]
    ops.dead_letter("inventory", events)
    EntryFaults(ops.target.clients.sqs, "DeleteMessageBatch", fails=lambda _: True)

    report = _replay(ops)

    assert report["counts"] == counts(failed=3)
    assert {f["reason"] for f in report["failed"]} == {
        "sent, but SQS refused the delete: it is in both queues"
    }
    assert len({f["message_id"] for f in report["failed"]}) == 3
    # nothing lost: each is in both queues, and audited as sent
    assert sorted(ops.envelope_ids(SOURCE)) == sorted(e.id for e in events)
    assert sorted(a["envelope_id"] for a in ops.audit()) == sorted(e.id for e in events)


def test_a_refused_fifo_send_is_not_overtaken_inside_its_own_batch_call(ops: Ops) -> None:
    # catches: one SendMessageBatch holding several messages of a group, where SQS refuses
    # an early one and accepts the later ones, which then overtake it on the destination
    p1, p2, p3, p4 = (payment("acct-1", n, f"p{n}") for n in range(1, 5))
    q1, q2 = payment("acct-2", 8, "q1"), payment("acct-2", 9, "q2")
    ops.dead_letter("ledger", [p1, p2, p3, p4], group_id="acct-1")
    ops.dead_letter("ledger", [q1, q2], group_id="acct-2")
    sends = EntryFaults(ops.target.clients.sqs, "SendMessageBatch", fails=lambda b: p2.id in b)

    # WHEN a replay runs at full speed (up to 10 messages a call)
    report = _replay(ops, "sluice-ledger-dlq.fifo")

    # THEN p2 failed, p3 and p4 were held back, and acct-2 went on
    reasons = {f["message_id"]: f["reason"] for f in report["failed"]}
    assert sorted(reasons.values()) == [
        "an earlier message of its FIFO group failed to send",
        "an earlier message of its FIFO group failed to send",
        "send failed: InternalError: injected",
    ]
    moved = ops.pipeline.drain("sluice-ledger.fifo")
    by_group = {
        g: [json.loads(m["Body"])["id"] for m in moved if m["Attributes"]["MessageGroupId"] == g]
        for g in ("acct-1", "acct-2")
    }
    assert by_group == {"acct-1": [p1.id], "acct-2": [q1.id, q2.id]}
    assert ops.envelope_ids("sluice-ledger-dlq.fifo") == [p2.id, p3.id, p4.id]
    # AND no call held two messages of one group; after p2's refusal, nothing more was sent
    assert sends.groups == [["acct-1", "acct-2"], ["acct-1", "acct-2"]]


def test_messages_without_a_group_go_to_a_fifo_destination_ten_per_call(ops: Ops) -> None:
    # catches: messages of a standard DLQ (no group, so no order to keep) sent to a FIFO
    # queue one per call, as if they were all one group
    events = [placed() for _ in range(12)]
    ops.dead_letter("inventory", events)
    sends = EntryFaults(ops.target.clients.sqs, "SendMessageBatch", fails=lambda _: False)

    report = _replay(ops, to="sluice-ledger.fifo")

    assert report["counts"]["moved"] == 12
    assert sends.groups == [["sluice-replay"] * 10, ["sluice-replay"] * 2]
    assert sorted(ops.envelope_ids("sluice-ledger.fifo")) == sorted(e.id for e in events)


def test_large_messages_are_replayed_in_calls_packed_by_bytes(ops: Ops) -> None:
    # catches: replay sending 10 messages per SendMessageBatch whatever their size, so ten
    # messages of 110 KB fail every run with BatchRequestTooLong
    # GIVEN ten dead letters of 110 KB each
    events = [placed(customer_id="c" * 110_000) for _ in range(10)]
    ops.dead_letter("inventory", events)
    sends = EntryFaults(ops.target.clients.sqs, "SendMessageBatch", fails=lambda _: False)

    # WHEN the DLQ is replayed
    report = _replay(ops)

    # THEN every message moved, two per call (three would pass 256 KiB), none left behind
    assert report["counts"] == counts(moved=10)
    assert [len(call) for call in sends.calls] == [2, 2, 2, 2, 2]
    assert sorted(ops.envelope_ids(SOURCE)) == sorted(e.id for e in events)
    assert ops.count(DLQ) == 0


class _FailsAgain:
    """The worker takes each replayed message at once and dead-letters it again, as the
    sandbox's pollers do while a replay runs (for the first ``rounds`` sends only)."""

    def __init__(self, ops: Ops, rounds: int) -> None:
        self.ops = ops
        self.rounds = rounds
        self.source = ops.pipeline.url(SOURCE)
        self._sent: list[tuple[str, list[str]]] = []
        events = ops.target.clients.sqs.meta.events
        events.register("before-parameter-build.sqs.SendMessageBatch", self._note)
        events.register("after-call.sqs.SendMessageBatch", self._fail_again)

    def _note(self, params: dict[str, Any], **_: Any) -> None:
        self._sent.append((params["QueueUrl"], [e["MessageBody"] for e in params["Entries"]]))

    def _fail_again(self, **_: Any) -> None:
        url, bodies = self._sent.pop()
        if url == self.source and self.rounds > 0:
            self.rounds -= 1
            self.ops.pipeline.drain(SOURCE)
            self.ops.dead_letter("inventory", bodies)


class _Bar:
    """What a progress bar is told."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, count: int) -> None:
        self.done += count


def test_a_replay_moves_each_message_once_though_it_fails_again_during_the_run(
    ops: Ops,
) -> None:
    # catches: the same pass taking the replayed copies that came back to the DLQ during
    # the run (moved 9 of 3, a progress bar at 10/4, three audit lines per envelope)
    # GIVEN three replayable dead letters and a body that is not an envelope
    poison = [placed() for _ in range(3)]
    ops.dead_letter("inventory", poison)
    ops.dead_letter("inventory", ["not an envelope"])
    # AND a worker that dead-letters every replayed copy again as soon as it arrives
    _FailsAgain(ops, rounds=2)
    bar = _Bar()

    # WHEN the DLQ is replayed
    report = replay(ops.target, DLQ, ReplayOptions(), bar).to_json()

    # THEN each of the three moved once, the odd body was skipped, and the bar agrees
    assert report["counts"] == counts(moved=3, skipped=1)
    assert sorted(r["envelope_id"] for r in report["moved"]) == sorted(e.id for e in poison)
    assert (bar.total, bar.done) == (4, 4)
    assert sorted(a["envelope_id"] for a in ops.audit()) == sorted(e.id for e in poison)
    # AND the copies that came back are left for the next run, and said so
    assert report["entered_during_replay"] == 3
    left = sorted(m["Body"] for m in ops.pipeline.drain(DLQ))
    assert left == sorted([*(e.to_json() for e in poison), "not an envelope"])


def test_a_schedules_dead_letter_keeps_its_fifo_group(moto: None, tmp_path: Path) -> None:
    # catches: replay taking the group from the DLQ message's own MessageGroupId, which a
    # schedule's (standard) DLQ never has, so every fire replayed to a FIFO worker went
    # to group "sluice-replay" instead of the group the Scheduler's request carried
    sweep = Schedule(
        "ledger-sweep",
        "rate(1 hour)",
        PAYMENT_CAPTURED,
        {"payment_id": "sweep", "account_id": "acct-7", "amount_cents": 1},
        target="ledger",
    )
    pipeline = Pipeline.provision(replace(APP, schedules=(sweep,)), Clients())
    target = Target(pipeline.clients, pipeline.topology, local=True)
    # GIVEN a fire the ledger queue refused, dead-lettered in EventBridge Scheduler's shape
    CallFaults(pipeline.clients.sqs, "SendMessage", times=1, code="KMS.KMSThrottlingException")
    fired = fire(
        pipeline.clients, pipeline.topology, sweep, datetime(2026, 12, 1, tzinfo=UTC), pipeline.url
    )
    assert fired.message_id is None
    dlq = pipeline.topology.schedule_dlq(sweep)

    # WHEN the schedule's DLQ is replayed to its home, the ledger's FIFO queue
    report = replay(target, dlq, ReplayOptions(audit_path=tmp_path / "audit.jsonl"))

    # THEN the envelope arrived in the group the Scheduler's request carried
    assert report.to_json()["counts"]["moved"] == 1
    [message] = pipeline.drain("sluice-ledger.fifo")
    assert json.loads(message["Body"])["id"] == "schedule:ledger-sweep:2026-12-01T00:00:00Z"
    assert message["Attributes"]["MessageGroupId"] == "acct-7"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["NOSUCHDLQ"], "error: no DLQ named 'NOSUCHDLQ'; the DLQs are: sluice-audit-dlq, "),
        (["inventory", "--to", "nowhere"], "error: --to 'nowhere' is neither a queue nor a topic"),
    ],
)
def test_a_refused_replay_prints_its_error_and_no_progress_bar(
    ops: Ops, args: list[str], error: str
) -> None:
    ops.dead_letter("inventory", [placed()])

    result = cli("replay", *args)

    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 1, result.output
    assert result.output.startswith(error), result.output
    assert ops.visible("sluice-inventory-dlq") == 1


def test_a_replay_whose_audit_log_cannot_be_written_sends_nothing(ops: Ops, tmp_path: Path) -> None:
    ops.dead_letter("inventory", [placed()])

    result = cli("replay", "inventory", "--audit-log", str(tmp_path))

    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: cannot append to the audit log {tmp_path}: Is a directory; nothing was moved"
    )
    assert ops.visible("sluice-inventory-dlq") == 1
    assert ops.count("sluice-inventory") == 0  # not sent: it would be in both queues
