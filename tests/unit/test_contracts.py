"""Envelope, schema and catalog: precise errors, lossless round trips."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from events import CATALOG, ORDER_PLACED, OrderPlaced
from sluice.core import (
    Catalog,
    Contract,
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
        ("[1, 2]", EnvelopeShapeError, "must be a JSON object, got array"),
        (json.dumps({"hello": "world"}), EnvelopeShapeError, "id: required field is missing"),
        (
            json.dumps(_doc(version="1")),
            EnvelopeShapeError,
            "version: must be an integer, got string",
        ),
        ("null", EnvelopeShapeError, "an envelope must be a JSON object, got null"),
        (json.dumps(_doc(version=0)), EnvelopeShapeError, "version: must be at least 1, got 0"),
        (json.dumps(_doc(time="yesterday")), EnvelopeShapeError, "time: must be an RFC 3339"),
        (json.dumps(_doc(id="")), EnvelopeShapeError, "id: must have at least 1 character, got 0"),
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
        "null",
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
        "data.order_id: must be a string, got integer",
        "data.customer_id: required field is missing",
        "data.items[0].sku: must have at least 1 character, got 0",
        "data.items[0].quantity: must be at least 1, got -1",
        "data.items[0].unit_price_cents: must be an integer, got boolean",
    ]
    assert caught.value.reason == "invalid_payload"


def test_empty_items_and_bad_currency_are_rejected() -> None:
    with pytest.raises(PayloadError) as caught:
        CATALOG.decode(_doc(data={**order_data("o"), "items": [], "currency": "euro"}))
    assert caught.value.problems == [
        "data.items: must have at least 1 item, got 0",
        "data.currency: must match [A-Z]{3}, got 'euro'",
    ]


def test_envelope_new_defaults_correlation_to_its_own_id() -> None:
    event = Envelope.new(ORDER_PLACED, order_data(), source="tests")
    assert event.correlation_id == event.id
    assert event.time.microsecond % 1000 == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("[" * 100_000, "body is not JSON: maximum recursion depth exceeded"),
        ('{"n": ' + "1" * 4301 + "}", "body is not JSON: Exceeds the limit (4300 digits)"),
        (b'{"a": "\xff"}', "body is not JSON: 'utf-8' codec can't decode byte 0xff"),
    ],
    ids=["deep nesting", "4301 digits", "not utf-8"],
)
def test_any_parse_failure_is_malformed_json_with_a_reason(
    body: str | bytes, fragment: str
) -> None:
    # GIVEN bytes the JSON parser fails on in ways other than a syntax error
    # WHEN they are decoded, THEN the one contract error says why (nothing else escapes)
    with pytest.raises(MalformedJsonError) as caught:
        CATALOG.decode(body)
    assert fragment in caught.value.detail
    assert caught.value.reason == "malformed_json"


def test_errors_name_json_types_never_python_ones() -> None:
    with pytest.raises(PayloadError) as caught:
        CATALOG.decode(_doc(data={**order_data("o"), "customer_id": None, "currency": 1.5}))
    assert caught.value.problems == [
        "data.customer_id: must be a string, got null",
        "data.currency: must be a string, got number",
    ]


def test_envelope_problems_are_all_named_at_once() -> None:
    doc = _doc(version=0, time="yesterday", source="")
    del doc["id"]
    with pytest.raises(EnvelopeShapeError) as caught:
        CATALOG.decode(json.dumps(doc))
    assert str(caught.value) == (
        "not an envelope: id: required field is missing; version: must be at least 1, got 0; "
        "source: must have at least 1 character, got 0; "
        "time: must be an RFC 3339 timestamp, got 'yesterday'"
    )


def test_a_pattern_matches_the_whole_string() -> None:
    with pytest.raises(PayloadError) as caught:
        CATALOG.decode(_doc(data={**order_data("o"), "currency": "EUR\n"}))
    assert caught.value.problems == ["data.currency: must match [A-Z]{3}, got 'EUR\\n'"]


def test_an_order_has_at_most_the_lines_one_transaction_can_apply() -> None:
    # GIVEN 100 lines of distinct SKUs: 100 stock updates + the completion = 101 items,
    # one more than TransactWriteItems takes
    lines = [{"sku": f"SKU-{n}", "quantity": 1, "unit_price_cents": 1} for n in range(100)]
    with pytest.raises(PayloadError) as caught:
        CATALOG.decode(_doc(data={**order_data("o"), "items": lines}))
    assert caught.value.problems == ["data.items: must have at most 99 items, got 100"]
    assert len(CATALOG.decode(_doc(data={**order_data("o"), "items": lines[:99]})).data.items) == 99


def test_a_time_without_zone_is_utc_and_bytes_decode_like_text() -> None:
    body = json.dumps(_doc(time="2026-11-23T18:44:20.123"))
    decoded = CATALOG.decode(body.encode())
    assert decoded.to_dict()["time"] == "2026-11-23T18:44:20.123Z"
    assert decoded == CATALOG.decode(body)


def test_a_catalog_refuses_a_model_that_is_not_a_payload_model() -> None:
    @dataclass
    class Plain:
        name: str

    with pytest.raises(TypeError, match=r"declare it as `class Name\(sluice.core.Model\)`"):
        Catalog([Contract("x.happened", 1, Plain)])
