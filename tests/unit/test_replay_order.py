"""The DLQ replay's own decisions on received messages: FIFO turns, report rows, late arrivals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sluice.ops.messages import DlqMessage
from sluice.ops.replay import _entered_since, _in_turns, _row
from tests.factories import placed

BEGAN = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
BEGAN_MS = int(BEGAN.timestamp() * 1000)


def _message(message_id: str, group: str | None = None, **system: Any) -> DlqMessage:
    attributes = {"MessageGroupId": group} if group else {}
    return DlqMessage.from_sqs(
        {
            "MessageId": message_id,
            "ReceiptHandle": f"rh-{message_id}",
            "Body": placed(message_id).to_json(),
            "Attributes": {**attributes, **system},
            "MessageAttributes": {
                "sluice.failure_reason": {"DataType": "String", "StringValue": "business_rule"}
            },
        }
    )


def _ids(messages: list[DlqMessage]) -> list[str]:
    return [m.message_id for m in messages]


def test_for_a_fifo_destination_each_group_sends_its_first_then_its_second_in_turn() -> None:
    messages = [
        _message("a1", "A"),
        _message("a2", "A"),
        _message("a3", "A"),
        _message("b1", "B"),
        _message("x"),
        _message("b2", "B"),
    ]
    assert _ids(_in_turns(messages, fifo=True)) == ["a1", "b1", "x", "a2", "b2", "a3"]
    assert _ids(_in_turns(messages, fifo=False)) == ["a1", "a2", "a3", "b1", "x", "b2"]


def test_a_moved_message_is_reported_by_its_ids_type_group_and_failure_reason() -> None:
    message = _message("m-1", "A")
    assert _row(message) == {
        "message_id": "m-1",
        "envelope_id": message.envelope["id"] if message.envelope else None,
        "type": "order.placed",
        "group_id": "A",
        "reason": "business_rule",
    }


def test_only_a_message_that_entered_the_dlq_after_the_replay_began_is_new() -> None:
    assert _entered_since(_message("late", SentTimestamp=str(BEGAN_MS + 1)), BEGAN)
    assert not _entered_since(_message("same", SentTimestamp=str(BEGAN_MS)), BEGAN)
    assert not _entered_since(_message("early", SentTimestamp=str(BEGAN_MS - 1)), BEGAN)
    assert not _entered_since(_message("unknown"), BEGAN)
