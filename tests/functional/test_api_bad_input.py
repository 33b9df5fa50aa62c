"""Bad input to the API: the right status, a detail that says what is wrong, no write at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from producers.api import OrdersApi, OrdersStore
from sluice.local.inprocess import serialized_mock_aws
from tests.factories import REGION
from tests.functional.http_events import JSON, api_event, body, header, order_body
from tests.functional.test_api import PROBLEM_KEYS, TABLE, items, orders_table, version  # noqa: F401

PLACED_ID = "ord-seeded"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
LINE = {"sku": "SKU-1", "quantity": 1, "unit_price_cents": 100}
ROUTES = "POST /orders, GET /orders/<order_id>, POST /orders/<order_id>/cancel"


def _json(**overrides: Any) -> str:
    return json.dumps(order_body(**overrides))


def _without(field: str) -> str:
    doc = order_body()
    del doc[field]
    return json.dumps(doc)


# (case, method, path, body, headers, status, detail)
CASES: list[tuple[str, str, str, Any, dict[str, str], int, str]] = [
    (
        "not json",
        "POST",
        "/orders",
        '{"customer_id": ',
        JSON,
        400,
        "body is not JSON: Expecting value: line 1 column 17",
    ),
    (
        "json array",
        "POST",
        "/orders",
        "[1, 2]",
        JSON,
        400,
        "the body must be a JSON object, got array",
    ),
    ("empty body", "POST", "/orders", "", JSON, 400, "the body is empty; send a JSON object"),
    (
        "missing customer",
        "POST",
        "/orders",
        _without("customer_id"),
        JSON,
        400,
        "customer_id: required field is missing",
    ),
    (
        "customer wrong type",
        "POST",
        "/orders",
        _json(customer_id=42),
        JSON,
        400,
        "customer_id: must be a string, got integer",
    ),
    (
        "empty customer",
        "POST",
        "/orders",
        _json(customer_id=""),
        JSON,
        400,
        "customer_id: must have at least 1 character, got 0",
    ),
    (
        "missing items",
        "POST",
        "/orders",
        _without("items"),
        JSON,
        400,
        "items: required field is missing",
    ),
    (
        "empty items",
        "POST",
        "/orders",
        _json(items=[]),
        JSON,
        400,
        "items: must have at least 1 item, got 0",
    ),
    (
        "items not a list",
        "POST",
        "/orders",
        _json(items="SKU-1"),
        JSON,
        400,
        "items: must be an array, got string",
    ),
    (
        "negative quantity",
        "POST",
        "/orders",
        _json(items=[{**LINE, "quantity": -1}]),
        JSON,
        400,
        "items[0].quantity: must be at least 1, got -1",
    ),
    (
        "quantity as text",
        "POST",
        "/orders",
        _json(items=[{**LINE, "quantity": "2"}]),
        JSON,
        400,
        "items[0].quantity: must be an integer, got string",
    ),
    (
        "quantity as bool",
        "POST",
        "/orders",
        _json(items=[{**LINE, "quantity": True}]),
        JSON,
        400,
        "items[0].quantity: must be an integer, got boolean",
    ),
    (
        "line not an object",
        "POST",
        "/orders",
        _json(items=["SKU-1"]),
        JSON,
        400,
        "items[0]: must be an object, got string",
    ),
    (
        "unknown line field",
        "POST",
        "/orders",
        _json(items=[{**LINE, "colour": "red"}]),
        JSON,
        400,
        "items[0].colour: unknown field",
    ),
    ("unknown field", "POST", "/orders", _json(coupon="FREE"), JSON, 400, "coupon: unknown field"),
    (
        "client order id",
        "POST",
        "/orders",
        _json(order_id="ord-mine"),
        JSON,
        400,
        "order_id: unknown field; the API assigns order ids",
    ),
    (
        "bad currency",
        "POST",
        "/orders",
        _json(currency="euro"),
        JSON,
        400,
        "currency: must match [A-Z]{3}, got 'euro'",
    ),
    (
        "more lines than one transaction can apply",
        "POST",
        "/orders",
        _json(items=[{**LINE, "sku": f"SKU-{n}"} for n in range(100)]),
        JSON,
        400,
        "items: must have at most 99 items, got 100 (the order's stock is reserved in one "
        "DynamoDB transaction: one update per distinct SKU plus the order's completion, "
        "at most 100 items)",
    ),
    (
        "nesting too deep to parse",
        "POST",
        "/orders",
        "[" * 100_000,
        JSON,
        400,
        "body is not JSON: maximum recursion depth exceeded",
    ),
    (
        "a number too long to convert",
        "POST",
        "/orders",
        '{"customer_id": ' + "9" * 4301 + "}",
        JSON,
        400,
        "body is not JSON: Exceeds the limit (4300 digits) for integer string conversion",
    ),
    (
        "every problem at once",
        "POST",
        "/orders",
        json.dumps({"items": [{**LINE, "quantity": 0}], "x": 1}),
        JSON,
        400,
        "x: unknown field; customer_id: required field is missing; "
        "items[0].quantity: must be at least 1, got 0",
    ),
    (
        "huge body",
        "POST",
        "/orders",
        _json(customer_id="c" * 300_000),
        JSON,
        413,
        "the limit is 262144 bytes (256 KiB)",
    ),
    (
        "text content type",
        "POST",
        "/orders",
        _json(),
        {"Content-Type": "text/plain"},
        415,
        "send the body as application/json; Content-Type was 'text/plain'",
    ),
    ("no content type", "POST", "/orders", _json(), {}, 415, "Content-Type was 'missing'"),
    (
        "form content type",
        "POST",
        "/orders",
        "customer_id=c",
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "'application/x-www-form-urlencoded'",
    ),
    (
        "bad idempotency key",
        "POST",
        "/orders",
        _json(),
        {**JSON, "Idempotency-Key": "k" * 300},
        400,
        "Idempotency-Key must be 1-255 visible ASCII characters",
    ),
    (
        "bad correlation id",
        "POST",
        "/orders",
        _json(),
        {**JSON, "X-Correlation-Id": "has spaces in it"},
        400,
        "X-Correlation-Id must be 1-128 characters",
    ),
    (
        "unknown route",
        "GET",
        "/customers",
        None,
        {},
        404,
        f"no route GET /customers; routes: {ROUTES}",
    ),
    (
        "unknown nested route",
        "POST",
        "/orders/x/refund",
        _json(),
        JSON,
        404,
        "no route POST /orders/x/refund",
    ),
    (
        "unsupported method",
        "DELETE",
        "/orders",
        None,
        {},
        405,
        "DELETE is not allowed on /orders; use POST",
    ),
    (
        "get on cancel",
        "GET",
        f"/orders/{PLACED_ID}/cancel",
        None,
        {},
        405,
        f"GET is not allowed on /orders/{PLACED_ID}/cancel; use POST",
    ),
    (
        "put an order",
        "PUT",
        f"/orders/{PLACED_ID}",
        _json(),
        JSON,
        405,
        f"PUT is not allowed on /orders/{PLACED_ID}; use GET",
    ),
    ("get unknown order", "GET", "/orders/ord-missing", None, {}, 404, "no order 'ord-missing'"),
    (
        "cancel unknown order",
        "POST",
        "/orders/ord-missing/cancel",
        None,
        {},
        404,
        "no order 'ord-missing'",
    ),
    (
        "cancel unknown field",
        "POST",
        f"/orders/{PLACED_ID}/cancel",
        '{"note": "x"}',
        JSON,
        400,
        "note: unknown field",
    ),
    (
        "cancel reason not text",
        "POST",
        f"/orders/{PLACED_ID}/cancel",
        '{"reason": 5}',
        JSON,
        400,
        "reason: must be a string of 1 to 500 characters",
    ),
    (
        "cancel body not json",
        "POST",
        f"/orders/{PLACED_ID}/cancel",
        "reason",
        JSON,
        400,
        "body is not JSON",
    ),
    (
        "cancel wrong content type",
        "POST",
        f"/orders/{PLACED_ID}/cancel",
        '{"reason": "x"}',
        {"Content-Type": "text/plain"},
        415,
        "Content-Type was 'text/plain'",
    ),
]


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[OrdersApi, Any]]:
    """One moto and one orders table for the whole matrix (each case checks it is unchanged)."""
    with serialized_mock_aws():
        db = orders_table(boto3.client("dynamodb", region_name=REGION, **CREDENTIALS))
        db.put_item(
            TableName=TABLE,
            Item={"id": {"S": PLACED_ID}, "status": {"S": "PLACED"}, "customer_id": {"S": "c"}},
        )
        yield OrdersApi(OrdersStore(db, TABLE)), db


@pytest.fixture
def api(world: tuple[OrdersApi, Any]) -> OrdersApi:
    return world[0]


@pytest.fixture
def db(world: tuple[OrdersApi, Any]) -> Any:
    return world[1]


@pytest.mark.parametrize(
    ("method", "path", "text", "headers", "status", "detail"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_is_refused_with_a_problem_and_changes_nothing(
    api: OrdersApi,
    db: Any,
    version: str,  # noqa: F811
    method: str,
    path: str,
    text: str | None,
    headers: dict[str, str],
    status: int,
    detail: str,
) -> None:
    # GIVEN the table as it is (one placed order)
    before = items(db)
    assert [i["id"]["S"] for i in before] == [PLACED_ID]

    # WHEN the bad request arrives
    answer = api.handler(api_event(version, method, path, text, headers), None)

    # THEN the status is right, the problem says what is wrong, and the table is untouched
    problem = body(answer)
    assert answer["statusCode"] == status, problem
    assert set(problem) == PROBLEM_KEYS and problem["status"] == status
    assert problem["type"].startswith("urn:sluice:problem:")
    assert detail in problem["detail"]
    assert header(answer, "Content-Type") == "application/problem+json"
    assert header(answer, "X-Correlation-Id")
    assert items(db) == before


def test_405_says_which_methods_are_allowed(api: OrdersApi, version: str) -> None:  # noqa: F811
    answer = api.handler(api_event(version, "PATCH", "/orders"), None)
    assert (answer["statusCode"], header(answer, "Allow")) == (405, "POST")


def test_the_matrix_covers_every_error_status() -> None:
    assert {case[5] for case in CASES} == {400, 404, 405, 413, 415}
    assert len(CASES) >= 15


def test_a_body_marked_base64_that_is_not_is_400(
    api: OrdersApi,
    db: Any,
    version: str,  # noqa: F811
) -> None:
    before = items(db)
    event = api_event(version, "POST", "/orders", b"x", JSON)
    event["body"] = "***not base64***"
    answer = api.handler(event, None)
    assert answer["statusCode"] == 400
    assert body(answer)["detail"] == "the body is marked base64 but is not valid base64"
    assert items(db) == before
