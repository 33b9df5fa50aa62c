"""Envelope, schema and catalog: precise errors, lossless round trips."""

from __future__ import annotations

import json

import pytest

from events import CATALOG, ORDER_PLACED, OrderPlaced
from sluice.core import (
    Envelope,
    EnvelopeShapeError,
    MalformedJsonError,
    PayloadError,
    UnknownEventTypeError,
    UnsupportedVersionError,
)
from tests.factories import order_data, placed


def test_round_trip_keeps_every_field_and_types_the_payload() -> None:
    # GIVEN an order.placed envelope
    original = placed("ord-1", sku="SKU-9", quantity=3)
    # WHEN it goes over the wire and back
    decoded = CATALOG.decode(original.to_json())
    # THEN nothing is lost (the contract fills in the default currency) and data is typed
    assert decoded.to_dict() == {**original.to_dict(), "data": {**original.data, "currency": "EUR"}}
    assert isinstance(decoded.data, OrderPlaced)
    assert decoded.data.items[0].quantity == 3
    assert decoded.data.total_cents == 1500


def test_caused_event_keeps_correlation_and_points_at_its_cause() -> None:
    cause = placed("ord-1")
    effect = cause.caused("order.cancelled", order_data("ord-1"), source="tests")
    assert effect.correlation_id == cause.correlation_id
    assert effect.causation_id == cause.id
    assert effect.id != cause.id


def _doc(**changes: object) -> dict[str, object]:
    doc = placed("ord-1").to_dict()
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("body", "error", "fragment"),
    [
        ("{not json", MalformedJsonError, "body is not JSON"),
        ("[1, 2]", EnvelopeShapeError, "must be a JSON object, got list"),
        (json.dumps({"hello": "world"}), EnvelopeShapeError, "id: required field is missing"),
        (json.dumps(_doc(version="1")), EnvelopeShapeError, "version: must be an integer >= 1"),
        (json.dumps(_doc(version=0)), EnvelopeShapeError, "version: must be an integer >= 1"),
        (json.dumps(_doc(time="yesterday")), EnvelopeShapeError, "time: must be an RFC 3339"),
        (json.dumps(_doc(id="")), EnvelopeShapeError, "id: must be a non-empty string"),
        (json.dumps(_doc(extra=1)), EnvelopeShapeError, "extra: unknown field"),
        (json.dumps(_doc(type="order.shipped")), UnknownEventTypeError, "'order.shipped'"),
        (json.dumps(_doc(version=7)), UnsupportedVersionError, "knows up to v1"),
    ],
    # Fixed ids: the documents hold fresh uuids, and every pytest-xdist worker must collect alike.
    ids=[
        "not-json",
        "list",
        "no-id",
        "version-str",
        "version-0",
        "bad-time",
        "empty-id",
        "extra-field",
        "unknown-type",
        "version-7",
    ],
)
def test_decode_names_what_is_wrong(body: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as caught:
        CATALOG.decode(body)
    assert fragment in str(caught.value)


def test_payload_errors_list_every_problem_by_path() -> None:
    bad = _doc(
        data={
            "order_id": 5,
            "items": [{"sku": "", "quantity": -1, "unit_price_cents": True}],
            "coupon": "X",
        }
    )
    with pytest.raises(PayloadError) as caught:
        CATALOG.decode(bad)
    assert caught.value.problems == [
        "data.coupon: unknown field",
        "data.order_id: must be a string, got int",
        "data.customer_id: required field is missing",
        "data.items[0].sku: must have at least 1 characters, got 0",
        "data.items[0].quantity: must be at least 1, got -1",
        "data.items[0].unit_price_cents: must be an integer, got boolean",
    ]
    assert caught.value.reason == "invalid_payload"


def test_empty_items_and_bad_currency_are_rejected() -> None:
    with pytest.raises(PayloadError) as caught:
        CATALOG.decode(_doc(data={**order_data("o"), "items": [], "currency": "euro"}))
    assert caught.value.problems == [
        "data.items: must have at least 1 items, got 0",
        "data.currency: must match [A-Z]{3}, got 'euro'",
    ]


def test_envelope_new_defaults_correlation_to_its_own_id() -> None:
    event = Envelope.new(ORDER_PLACED, order_data(), source="tests")
    assert event.correlation_id == event.id
    assert event.time.microsecond % 1000 == 0
