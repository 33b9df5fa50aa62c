"""Every sample event decodes into a typed Envelope, whichever way it arrived."""

from __future__ import annotations

from events import CATALOG, OrderPlaced, PaymentCaptured
from sluice.runtime import Source, StreamChange
from sluice.runtime.records import decode, parse_batch, stream_event_id
from tests.factories import sample


def _one(name: str, source: Source):  # type: ignore[no-untyped-def]
    [inbound] = parse_batch(sample(name), source, "tests")
    return inbound, decode(inbound, CATALOG)


def test_sqs_raw_record() -> None:
    inbound, event = _one("sqs_raw", Source.SNS_QUEUE)
    assert inbound.item_id == "059f36b4-87a3-44ab-83d2-661975830a7d"
    assert inbound.receive_count == 1
    assert inbound.sent_at_ms == 1795459460123
    assert event.type == "order.placed"
    assert isinstance(event.data, OrderPlaced)
    assert [i.sku for i in event.data.items] == ["SKU-RED-MUG", "SKU-BLUE-CAP"]


def test_sns_wrapped_record_yields_the_inner_envelope() -> None:
    _, wrapped = _one("sqs_sns_wrapped", Source.SNS_QUEUE)
    _, raw = _one("sqs_raw", Source.SNS_QUEUE)
    assert wrapped.to_dict() == raw.to_dict()


def test_fifo_record_carries_its_group() -> None:
    inbound, event = _one("sqs_fifo", Source.FIFO_QUEUE)
    assert inbound.group_id == "acct-7"
    assert isinstance(event.data, PaymentCaptured)
    assert event.data.amount_cents == 4499


def test_stream_records_become_changes_with_deterministic_ids() -> None:
    for name, kind in [("insert", "INSERT"), ("modify", "MODIFY"), ("remove", "REMOVE")]:
        inbound, event = _one(f"dynamodb_{name}", Source.STREAM)
        change = event.data
        assert isinstance(change, StreamChange)
        assert event.type == f"dynamodb.{name}"
        assert change.event_name == kind
        assert change.table == "sluice-orders"
        assert change.keys == {"id": "ord-0001"}
        assert inbound.item_id == change.sequence_number
        assert event.id == stream_event_id("sluice-orders", {"id": "ord-0001"}, inbound.item_id)
        assert event.correlation_id == "c0ffee00-0000-4000-8000-000000000001"
    _, modify = _one("dynamodb_modify", Source.STREAM)
    assert modify.data.old_image["status"] == "PLACED"
    assert modify.data.new_image["status"] == "CANCELLED"
    assert modify.data.new_image["items"][0] == {
        "sku": "SKU-RED-MUG",
        "quantity": 2,
        "unit_price_cents": 1250,
    }
    _, removed = _one("dynamodb_remove", Source.STREAM)
    assert removed.data.new_image is None
