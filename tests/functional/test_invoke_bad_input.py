"""Bad input over Lambda Invoke: every HTTP bad-input case gets the same problem, no write.

The HTTP matrix (``test_api_bad_input.CASES``) is the source: each case that a payload can
express is sent both ways through the one Lambda entry, and the problems must be equal.
The cases a payload cannot express are named, so a new HTTP case is never silently skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from producers.api import OrdersApi, OrdersStore
from producers.operations import OPERATIONS
from sluice.local.inprocess import serialized_mock_aws
from sluice.rpc import DirectInvoke
from tests.factories import REGION
from tests.functional.http_events import api_event
from tests.functional.invoke_events import as_payload, compact, http_problem
from tests.functional.test_api import TABLE, items, orders_table
from tests.functional.test_api_bad_input import CASES, CREDENTIALS, PLACED_ID

NOT_EXPRESSIBLE = {
    "not json",
    "empty body",
    "text content type",
    "no content type",
    "form content type",
    "unknown route",
    "unknown nested route",
    "unsupported method",
    "get on cancel",
    "put an order",
    "cancel body not json",
    "cancel wrong content type",
    # Lambda parses an Invoke payload before the function sees it; these never parse
    "a number too long to convert",
    "nesting too deep to parse",
}
MIRRORED = [case for case in CASES if not isinstance(as_payload(*case[1:5]), str)]


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[DirectInvoke, Any]]:
    """The Lambda entry (proxy events and payloads) on one moto orders table."""
    with serialized_mock_aws():
        db = orders_table(boto3.client("dynamodb", region_name=REGION, **CREDENTIALS))
        db.put_item(
            TableName=TABLE,
            Item={"id": {"S": PLACED_ID}, "status": {"S": "PLACED"}, "customer_id": {"S": "c"}},
        )
        yield DirectInvoke(OrdersApi(OrdersStore(db, TABLE)).handler, OPERATIONS), db


def test_every_http_case_is_mirrored_or_named_as_not_expressible() -> None:
    skipped = {case[0]: as_payload(*case[1:5]) for case in CASES if case not in MIRRORED}
    assert set(skipped) == NOT_EXPRESSIBLE, skipped
    assert len(MIRRORED) >= 20
    statuses = {case[5] for case in MIRRORED}
    assert statuses == {400, 404, 413}


@pytest.mark.parametrize(
    ("method", "path", "text", "headers", "status"),
    [pytest.param(*case[1:6], id=case[0]) for case in MIRRORED],
)
def test_an_invoke_gets_the_same_problem_as_http_and_changes_nothing(
    world: tuple[DirectInvoke, Any],
    method: str,
    path: str,
    text: str | None,
    headers: dict[str, str],
    status: int,
) -> None:
    entry, db = world
    before = items(db)
    payload = as_payload(method, path, text, headers)
    assert not isinstance(payload, str)
    # GIVEN the HTTP answer to the bad request, its body in the bytes a payload's becomes
    sent = compact(payload["body"]) if "body" in payload else text
    over_http = entry(api_event("v1", method, path, sent, headers), None)
    # WHEN the same request arrives as a payload
    answer = entry(payload, None)
    # THEN the answer is a refusal carrying the very same problem, and nothing was written
    assert over_http["statusCode"] == status
    assert answer["ok"] is False
    assert answer["problem"] == http_problem(over_http)
    assert answer["status"] == status
    assert answer["correlation_id"]
    assert items(db) == before


PAYLOAD_CASES: list[tuple[str, Any, int, str]] = [
    ("not an object", [1, 2], 400, "the payload must be a JSON object, got array"),
    ("a string", "place_order", 400, "the payload must be a JSON object, got string"),
    ("null", None, 400, "the payload must be a JSON object, got null"),
    (
        "no op",
        {"body": {}},
        400,
        "op: must name an operation (place_order, get_order, cancel_order), got null",
    ),
    (
        "op not text",
        {"op": 3},
        400,
        "op: must name an operation (place_order, get_order, cancel_order), got number",
    ),
    (
        "unknown op",
        {"op": "refund_order"},
        404,
        "no operation 'refund_order'; operations: place_order (POST /orders), "
        "get_order (GET /orders/<order_id>), cancel_order (POST /orders/<order_id>/cancel)",
    ),
    (
        "unknown field",
        {"op": "get_order", "params": {"order_id": "o"}, "headers": {}},
        400,
        "unknown payload field(s): headers; "
        "a payload has op, params, body, idempotency_key, correlation_id, caller",
    ),
    ("missing param", {"op": "get_order"}, 400, "params.order_id: required by get_order"),
    (
        "param with a slash",
        {"op": "get_order", "params": {"order_id": "a/b"}},
        400,
        "params.order_id: must be one path segment: letters, digits, _ and "
        "-.~()'!*:@,;=+&$%<> []{}|^ (no '/', '?', '#', control characters or other symbols), "
        "got 'a/b'",
    ),
    (
        "param a query would cut",
        {"op": "get_order", "params": {"order_id": "a?b"}},
        400,
        "params.order_id: must be one path segment",
    ),
    (
        "param with a trailing newline",
        {"op": "get_order", "params": {"order_id": f"{PLACED_ID}\n"}},
        400,
        f"got '{PLACED_ID}\\n'",
    ),
    (
        "key without a caller",
        {"op": "place_order", "body": {}, "idempotency_key": "k-1"},
        400,
        "caller: required with an idempotency_key. Lambda Invoke does not tell the function",
    ),
    (
        "extra param",
        {"op": "place_order", "params": {"order_id": "x"}, "body": {}},
        400,
        "params.order_id: unknown parameter",
    ),
    ("params a list", {"op": "get_order", "params": ["x"]}, 400, "params: must be an object"),
    (
        "key not text",
        {"op": "place_order", "body": {}, "idempotency_key": 7},
        400,
        "idempotency_key: must be a string, got number",
    ),
    (
        "correlation not text",
        {"op": "place_order", "body": {}, "correlation_id": ["c"]},
        400,
        "correlation_id: must be a string, got array",
    ),
    (
        "place without a body",
        {"op": "place_order"},
        400,
        "the body is empty; send a JSON object",
    ),
]


@pytest.mark.parametrize(
    ("payload", "status", "detail"), [pytest.param(*c[1:], id=c[0]) for c in PAYLOAD_CASES]
)
def test_a_malformed_payload_gets_a_problem_answer_not_a_crash(
    world: tuple[DirectInvoke, Any], payload: Any, status: int, detail: str
) -> None:
    entry, db = world
    before = items(db)
    answer = entry(payload, None)
    assert answer["ok"] is False
    assert answer["status"] == answer["problem"]["status"] == status
    assert set(answer["problem"]) == {"type", "title", "status", "detail"}
    assert answer["problem"]["type"].startswith("urn:sluice:problem:")
    assert detail in answer["problem"]["detail"]
    assert items(db) == before


def test_a_payload_keeps_its_correlation_id_even_when_refused(
    world: tuple[DirectInvoke, Any],
) -> None:
    answer = world[0]({"op": "nope", "correlation_id": "corr-7"}, None)
    assert (answer["ok"], answer["correlation_id"]) == (False, "corr-7")


def _v1(**changes: Any) -> dict[str, Any]:
    event = api_event("v1", "GET", f"/orders/{PLACED_ID}")
    event.update(changes)
    return event


def _v2(**context: Any) -> dict[str, Any]:
    event = api_event("v2", "GET", f"/orders/{PLACED_ID}")
    event["requestContext"] = context
    return event


V1_SHAPE = 'This is not a REST (v1) proxy event (a v2 one has "version": "2.0")'
V2_SHAPE = "This is not an HTTP API (v2) or function URL event"
PROXY_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "method and context only",
        {"httpMethod": "GET", "requestContext": {}},
        "path: required",
        V1_SHAPE,
    ),
    (
        "a route key without version 2.0",
        {"routeKey": "GET /orders", "requestContext": {}},
        "httpMethod: required; path: required",
        V1_SHAPE,
    ),
    (
        "path not text",
        _v1(path=7),
        "path: must be a string starting with '/', got number",
        V1_SHAPE,
    ),
    (
        "method not text",
        _v1(httpMethod=None),
        "httpMethod: must be a non-empty string, got null",
        V1_SHAPE,
    ),
    (
        "a header not text",
        _v1(headers={"X-Correlation-Id": 5, "Accept": "*/*", "X-Other": None}),
        "headers: must hold strings only; 'X-Correlation-Id' holds number (and 1 more)",
        V1_SHAPE,
    ),
    (
        "headers a list",
        _v1(headers=["a"]),
        "headers: must be an object or null, got array",
        V1_SHAPE,
    ),
    (
        "multi-value headers not arrays",
        _v1(multiValueHeaders={"Accept": "*/*"}),
        "multiValueHeaders: must hold arrays of strings only; 'Accept' holds string",
        V1_SHAPE,
    ),
    ("body an object", _v1(body={"a": 1}), "body: must be a string or null, got object", V1_SHAPE),
    (
        "base64 flag not a boolean",
        _v1(isBase64Encoded="yes"),
        "isBase64Encoded: must be a boolean, got string",
        V1_SHAPE,
    ),
    (
        "v2 without a stage or request",
        _v2(),
        "requestContext.stage: required; requestContext.http: required",
        V2_SHAPE,
    ),
    (
        "v2 request without a method",
        _v2(stage="$default", http={"path": "/orders"}),
        "requestContext.http.method: required",
        V2_SHAPE,
    ),
]


@pytest.mark.parametrize(
    ("event", "problems", "shape"), [pytest.param(*c[1:], id=c[0]) for c in PROXY_CASES]
)
def test_a_malformed_proxy_event_gets_a_400_problem_not_a_crash(
    world: tuple[DirectInvoke, Any], event: dict[str, Any], problems: str, shape: str
) -> None:
    entry, db = world
    before = items(db)
    # WHEN a proxy-shaped event no gateway would send is invoked
    answer = entry(event, None)
    # THEN it is a proxy response with a 400 problem saying what is wrong, and nothing changed
    assert answer["statusCode"] == 400
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert answer["headers"]["X-Correlation-Id"]
    assert http_problem(answer) == {
        "type": "urn:sluice:problem:invalid-request",
        "title": "Invalid request",
        "status": 400,
        "detail": f"{problems}. {shape} as a gateway sends it: send a whole proxy event, "
        'or a direct payload ({"op": ...})',
    }
    assert items(db) == before


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_whole_proxy_event_still_reaches_the_routes(
    world: tuple[DirectInvoke, Any], version: str
) -> None:
    answer = world[0](api_event(version, "GET", f"/orders/{PLACED_ID}"), None)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["id"] == PLACED_ID
