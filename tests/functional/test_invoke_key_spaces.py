"""Idempotency keys over Lambda Invoke: each caller has its own key space, never a shared one.

Invoke proves nothing of who called, so a payload with a key names its caller, and is refused
without one; over HTTP the gateway (or a function URL) proves the caller. One caller's key
space is the same through both doors.
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
from tests.functional.http_events import JSON, api_event, body, header, order_body
from tests.functional.test_api import TABLE, items, orders_table
from tests.functional.test_api_bad_input import CREDENTIALS

BILLING = "arn:aws:iam::123456789012:role/billing"
SHIPPING = "arn:aws:sts::123456789012:assumed-role/shipping/shipping-batch"
ALICE = "arn:aws:iam::123456789012:user/alice"
"""The caller the gateway samples prove."""
UNSCOPED_KEY = (
    "caller: required with an idempotency_key. Lambda Invoke does not tell the function who "
    "called, so a key is scoped to the caller the payload names: send the ARN of the IAM "
    "principal you call as (ApiClient(..., caller=...)); two callers never share a key"
)


@pytest.fixture
def world() -> Iterator[tuple[DirectInvoke, Any]]:
    """The API function's entry on an empty moto orders table."""
    with serialized_mock_aws():
        db = orders_table(boto3.client("dynamodb", region_name=REGION, **CREDENTIALS))
        yield DirectInvoke(OrdersApi(OrdersStore(db, TABLE)).handler, OPERATIONS), db


def place(entry: DirectInvoke, key: str, caller: str | None, **body: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"op": "place_order", "body": order_body(**body)}
    payload.update(idempotency_key=key, caller=caller)
    answer: dict[str, Any] = entry({k: v for k, v in payload.items() if v is not None}, None)
    return answer


def test_two_services_that_do_not_name_themselves_share_no_order(
    world: tuple[DirectInvoke, Any],
) -> None:
    entry, db = world
    # WHEN two services send the same key and body over Invoke, neither naming itself
    first, second = place(entry, "k-1", None), place(entry, "k-1", None)
    # THEN each is refused with what to send, neither is told of an order, nothing is written
    for answer in (first, second):
        assert (answer["ok"], answer["status"]) == (False, 400)
        assert answer["problem"] == {
            "type": "urn:sluice:problem:invalid-request",
            "title": "Invalid request",
            "status": 400,
            "detail": UNSCOPED_KEY,
        }
    assert items(db) == []


def test_a_key_with_another_body_names_no_other_services_order(
    world: tuple[DirectInvoke, Any],
) -> None:
    entry, db = world
    # GIVEN billing placed an order under key k-2
    billing = place(entry, "k-2", BILLING)
    # WHEN another service sends k-2 with another body, without naming itself
    other = place(entry, "k-2", None, customer_id="cust-other")
    # THEN it is refused for the missing caller, and billing's order id is not in the answer
    assert (other["ok"], other["problem"]["detail"]) == (False, UNSCOPED_KEY)
    assert billing["body"]["id"] not in json.dumps(other)
    assert [i["id"]["S"] for i in items(db)] == [billing["body"]["id"]]


def test_two_named_callers_with_one_key_get_their_own_orders(
    world: tuple[DirectInvoke, Any],
) -> None:
    entry, db = world
    # WHEN billing and shipping send the same key and body, and billing sends it again
    answers = [place(entry, "k-3", who) for who in (BILLING, SHIPPING, BILLING)]
    # THEN each service got its own order written, and only billing's retry is a replay
    billing, shipping, again = (a["body"]["id"] for a in answers)
    assert billing != shipping and again == billing
    assert [a["headers"].get("Idempotent-Replayed") for a in answers] == [None, None, "true"]
    assert sorted(i["id"]["S"] for i in items(db)) == sorted([billing, shipping])
    # AND shipping's other body under that key is a conflict naming its own order only
    conflict = place(entry, "k-3", SHIPPING, customer_id="cust-other")
    assert (conflict["ok"], conflict["status"]) == (False, 409)
    assert conflict["problem"]["detail"] == (
        f"Idempotency-Key 'k-3' was already used for order {shipping} with a different body; "
        "use a new key for a new order"
    )


@pytest.mark.parametrize(
    ("caller", "shown"),
    [
        ("", "''"),
        ("-", "'-'"),
        ("billing", "'billing'"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:billing", "'arn:aws:lambda:eu-west-1:"),
        ("arn:aws:iam::123456789012:role/a b", "'arn:aws:iam::123456789012:role/a b'"),
    ],
)
def test_a_caller_that_is_no_principal_arn_is_refused(
    world: tuple[DirectInvoke, Any], caller: str, shown: str
) -> None:
    entry, db = world
    answer = place(entry, "k-4", caller)
    assert (answer["ok"], answer["status"]) == (False, 400)
    assert answer["problem"]["detail"].startswith(
        "caller: must be the ARN of the IAM principal you call as, e.g. "
        "arn:aws:iam::123456789012:role/billing (over HTTP, the one your requests are "
        f"signed with), got {shown}"
    )
    assert items(db) == []


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_one_caller_has_one_key_space_through_both_doors(
    world: tuple[DirectInvoke, Any], version: str
) -> None:
    entry, db = world
    # GIVEN alice placed an order over HTTP (REST v1, or HTTP API / function URL v2), proven
    event = api_event(version, "POST", "/orders", json.dumps(order_body()), JSON)
    event["headers"]["Idempotency-Key"] = "k-5"
    over_http = entry(event, None)
    assert over_http["statusCode"] == 202
    # WHEN she sends the same key and body over Invoke, naming herself
    over_invoke = place(entry, "k-5", ALICE)
    # THEN it is her order, replayed; and billing's same key is billing's own order
    assert over_invoke["body"]["id"] == body(over_http)["id"]
    assert over_invoke["headers"]["Idempotent-Replayed"] == "true"
    assert header(over_http, "Idempotent-Replayed") is None
    assert place(entry, "k-5", BILLING)["body"]["id"] != body(over_http)["id"]
    assert len(items(db)) == 2
