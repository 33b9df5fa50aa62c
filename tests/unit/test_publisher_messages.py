"""Packing envelopes into batch entries: sizes as AWS counts them, limits, FIFO ids."""

from __future__ import annotations

import hashlib

import pytest

from sluice.core import Envelope
from sluice.publisher import MAX_BYTES, OversizeError, Publisher, dedup_id
from sluice.publisher.messages import Message, pack, to_message


def _message(size: int, name: str = "m") -> Message:
    return Message(name, "", {}, size)


def test_pack_cuts_at_ten_entries() -> None:
    sizes = [len(b) for b in pack(_message(1) for _ in range(25))]
    assert sizes == [10, 10, 5]


def test_pack_cuts_before_the_total_would_pass_the_byte_limit() -> None:
    batches = list(pack([_message(100_000) for _ in range(5)]))
    assert [len(b) for b in batches] == [2, 2, 1]
    assert all(sum(m.size for m in b) <= MAX_BYTES for b in batches)


def test_pack_of_nothing_is_no_batch() -> None:
    assert list(pack([])) == []


def test_size_counts_the_body_and_every_attribute_name_type_and_value() -> None:
    envelope = Envelope.new("blob.stored", {"blob": "é"}, source="t", correlation_id="c")
    message = to_message(envelope, fifo=False, group_by={})
    attributes = sum(
        len(name) + len(value["DataType"]) + len(value["StringValue"])
        for name, value in message.attributes.items()
    )
    assert message.size == len(envelope.to_json().encode()) + attributes
    assert message.attributes == {
        "event_type": {"DataType": "String", "StringValue": "blob.stored"},
        "event_version": {"DataType": "Number", "StringValue": "1"},
        "correlation_id": {"DataType": "String", "StringValue": "c"},
    }


def test_an_envelope_just_over_the_limit_is_refused() -> None:
    envelope = Envelope.new("blob.stored", {"blob": ""}, source="t")
    base = to_message(envelope, fifo=False, group_by={}).size
    fits = Envelope.new(
        "blob.stored", {"blob": "x" * (MAX_BYTES - base)}, source="t", id=envelope.id
    )
    assert to_message(fits, fifo=False, group_by={}).size == MAX_BYTES
    over = Envelope.new("blob.stored", {"blob": "x" * (MAX_BYTES - base + 1)}, source="t")
    with pytest.raises(OversizeError):
        to_message(over, fifo=False, group_by={})


def test_dedup_id_is_the_envelope_id_or_its_hash_when_it_cannot_be_one() -> None:
    assert dedup_id("2b8f-id") == "2b8f-id"
    odd = "id with spaces"
    assert dedup_id(odd) == hashlib.sha256(odd.encode()).hexdigest() == dedup_id(odd)
    assert len(dedup_id("x" * 200)) == 64


def test_fifo_entries_carry_group_and_dedup_ids() -> None:
    envelope = Envelope.new("payment.captured", {"account_id": "acct-1"}, source="t", id="e-1")
    message = to_message(envelope, fifo=True, group_by={"payment.captured": "account_id"})
    assert message.entry("3", "MessageBody") == {
        "Id": "3",
        "MessageBody": envelope.to_json(),
        "MessageAttributes": message.attributes,
        "MessageGroupId": "acct-1",
        "MessageDeduplicationId": "e-1",
    }


def test_a_topic_publisher_takes_no_fifo_grouping() -> None:
    # to_topic and to_queue name their options; grouping is a FIFO queue's alone
    with pytest.raises(TypeError, match="group_by"):
        Publisher.to_topic(object(), "arn:aws:sns:eu-west-1:123456789012:t", group_by={"a": "b"})  # type: ignore[call-arg]
