"""Request validation for the orders API, without AWS: the contract names every problem."""

from __future__ import annotations

import json

import pytest

from producers.api.problems import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from producers.api.routes import allowed_methods
from producers.api.validation import order_id_for, order_request
from sluice.rpc import caller_of

JSON = {"content-type": "application/json; charset=utf-8"}
ORDER = {"customer_id": "c-1", "items": [{"sku": "S", "quantity": 1, "unit_price_cents": 5}]}


def _event(doc: object) -> dict[str, object]:
    return {"body": json.dumps(doc), "isBase64Encoded": False}


def test_a_valid_body_becomes_the_order_placed_model() -> None:
    request = order_request(_event(ORDER), {**JSON, "Idempotency-Key": "k-1"})
    assert request.order.order_id == order_id_for("k-1", None)
    assert (request.order.customer_id, request.order.currency, request.order.total_cents) == (
        "c-1",
        "EUR",
        5,
    )
    assert request.idempotency_key == "k-1"


def test_the_same_body_in_another_key_order_hashes_the_same() -> None:
    reordered = dict(reversed(list(ORDER.items())))
    first = order_request(_event(ORDER), JSON).request_hash
    assert order_request(_event(reordered), JSON).request_hash == first


def test_order_ids_follow_the_key_and_are_fresh_without_one() -> None:
    assert order_id_for("k") == order_id_for("k") != order_id_for("k2")
    assert order_id_for(None) != order_id_for(None)


def test_keys_are_scoped_to_the_authenticated_caller() -> None:
    alice, bob = "arn:aws:iam::1:user/alice", "arn:aws:iam::1:user/bob"
    assert order_id_for("k", alice) == order_id_for("k", alice) != order_id_for("k", bob)
    v1 = {"requestContext": {"identity": {"userArn": alice}}}
    v2 = {"requestContext": {"authorizer": {"iam": {"userArn": bob}}}}
    jwt = {"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "user-7"}}}}}
    assert [caller_of(e) for e in (v1, v2, jwt, {})] == [alice, bob, "user-7", None]
    # an identity in a shape no gateway writes names no one (and raises nothing)
    odd = [{"requestContext": "x"}, {"requestContext": {"identity": "x", "authorizer": [1]}}]
    odd.append({"requestContext": {"identity": {"userArn": 5}, "authorizer": {"iam": None}}})
    assert [caller_of(e) for e in odd] == [None, None, None]


def test_problems_are_named_by_path_without_the_body_prefix() -> None:
    doc = {**ORDER, "items": [{"sku": "S", "quantity": -1, "unit_price_cents": 5}]}
    with pytest.raises(InvalidRequest) as caught:
        order_request(_event(doc), JSON)
    assert caught.value.detail == "items[0].quantity: must be at least 1, got -1"


def test_size_is_checked_before_the_media_type_and_the_media_type_before_json() -> None:
    with pytest.raises(PayloadTooLarge):
        order_request({"body": "x" * 262_145}, {"content-type": "text/plain"})
    with pytest.raises(UnsupportedMediaType):
        order_request({"body": "{"}, {"content-type": "text/plain"})
    assert order_request(_event(ORDER), {"Content-Type": "application/vnd.order+json"})


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/orders", ["POST"]),
        ("/orders/", ["POST"]),
        ("/orders/o-1", ["GET"]),
        ("/orders/o-1/cancel", ["POST"]),
        ("/orders/o-1/refund", []),
        ("/", []),
    ],
)
def test_allowed_methods_by_path(path: str, methods: list[str]) -> None:
    assert allowed_methods(path) == methods
