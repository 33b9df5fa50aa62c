"""The orders API over REST (v1) and HTTP API (v2) events: every route and Idempotency-Key."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from producers.api import OrdersApi, OrdersStore
from sluice.runtime import Clients
from tests.functional.http_events import JSON, VERSIONS, api_event, body, header, order_body

TABLE = "sluice-orders"
PROBLEM_KEYS = {"type", "title", "detail", "status"}


def orders_table(client: Any) -> Any:
    """Create the orders table (key ``id``) and return the client."""
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


@pytest.fixture
def db(moto: None) -> Any:
    return orders_table(Clients().dynamodb)


@pytest.fixture
def api(db: Any) -> OrdersApi:
    return OrdersApi(OrdersStore(db, TABLE))


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def items(db: Any) -> list[dict[str, Any]]:
    """Every item in the orders table."""
    return sorted(db.scan(TableName=TABLE)["Items"], key=lambda i: i["id"]["S"])


def place(api: OrdersApi, version: str, doc: Any = None, **headers: str) -> dict[str, Any]:
    text = json.dumps(order_body() if doc is None else doc)
    return api.handler(api_event(version, "POST", "/orders", text, {**JSON, **headers}), None)


def test_post_orders_stores_one_item_and_answers_202(api: OrdersApi, db: Any, version: str) -> None:
    # WHEN an order is posted with a correlation id
    answer = place(api, version, **{"X-Correlation-Id": "corr-123"})

    # THEN 202 with the id, a Location, the correlation id echoed
    assert answer["statusCode"] == 202
    order_id = body(answer)["id"]
    assert body(answer) == {"id": order_id, "status": "PLACED"}
    assert re.fullmatch(r"ord-[0-9a-f]{32}", order_id)
    assert header(answer, "Location") == f"/orders/{order_id}"
    assert header(answer, "X-Correlation-Id") == "corr-123"
    assert header(answer, "Content-Type") == "application/json"
    # AND exactly one item holds the order as the contract validated it
    [item] = items(db)
    created = item.pop("created_at")["S"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created)
    assert len(item.pop("request_hash")["S"]) == 64
    assert item == {
        "id": {"S": order_id},
        "status": {"S": "PLACED"},
        "customer_id": {"S": "cust-42"},
        "items": {
            "L": [
                {
                    "M": {
                        "sku": {"S": "SKU-RED-MUG"},
                        "quantity": {"N": "2"},
                        "unit_price_cents": {"N": "1250"},
                    }
                },
                {
                    "M": {
                        "sku": {"S": "SKU-BLUE-CAP"},
                        "quantity": {"N": "1"},
                        "unit_price_cents": {"N": "1999"},
                    }
                },
            ]
        },
        "currency": {"S": "EUR"},
        "total_cents": {"N": "4499"},
        "correlation_id": {"S": "corr-123"},
    }


def test_without_a_correlation_id_a_new_one_is_made_stored_and_echoed(
    api: OrdersApi, db: Any, version: str
) -> None:
    answer = place(api, version)
    echoed = header(answer, "X-Correlation-Id")
    assert echoed is not None and uuid.UUID(echoed)
    assert items(db)[0]["correlation_id"] == {"S": echoed}


def test_the_sample_events_place_orders(api: OrdersApi, db: Any) -> None:
    from tests.factories import sample

    for name in ("apigw_rest_v1", "apigw_http_v2"):
        answer = api.handler(sample(name), None)
        assert answer["statusCode"] == 202
        assert header(answer, "X-Correlation-Id") == "c0ffee00-0000-4000-8000-000000000001"
    assert len(items(db)) == 2


def test_a_base64_body_is_decoded(api: OrdersApi, db: Any, version: str) -> None:
    raw = json.dumps(order_body()).encode()
    answer = api.handler(api_event(version, "POST", "/orders", raw, JSON), None)
    assert answer["statusCode"] == 202 and len(items(db)) == 1


def test_get_order_answers_the_order(api: OrdersApi, version: str) -> None:
    order_id = body(place(api, version, **{"X-Correlation-Id": "corr-9"}))["id"]

    answer = api.handler(api_event(version, "GET", f"/orders/{order_id}"), None)

    assert answer["statusCode"] == 200
    view = body(answer)
    assert re.fullmatch(r"\d{4}-.*Z", view.pop("created_at"))
    assert view == {
        "id": order_id,
        "status": "PLACED",
        "customer_id": "cust-42",
        "currency": "EUR",
        "total_cents": 4499,
        "items": order_body()["items"],
        "correlation_id": "corr-9",
    }


def test_get_unknown_order_is_404(api: OrdersApi, version: str) -> None:
    answer = api.handler(api_event(version, "GET", "/orders/ord-nope"), None)
    assert answer["statusCode"] == 404
    assert body(answer) == {
        "type": "urn:sluice:problem:not-found",
        "title": "Not found",
        "detail": "no order 'ord-nope'",
        "status": 404,
    }
    assert header(answer, "Content-Type") == "application/problem+json"


def test_cancel_moves_the_order_to_cancelled_once(api: OrdersApi, db: Any, version: str) -> None:
    # GIVEN a placed order
    order_id = body(place(api, version))["id"]
    path = f"/orders/{order_id}/cancel"

    # WHEN it is cancelled with a reason
    answer = api.handler(api_event(version, "POST", path, '{"reason": "changed mind"}', JSON), None)

    # THEN it is CANCELLED, with when and why
    assert answer["statusCode"] == 200
    view = body(answer)
    assert (view["status"], view["cancel_reason"]) == ("CANCELLED", "changed mind")
    assert re.fullmatch(r"\d{4}-.*Z", view["cancelled_at"])
    stored = items(db)

    # AND a second cancel (no body) is a 409 that changes nothing
    again = api.handler(api_event(version, "POST", path), None)
    assert again["statusCode"] == 409
    assert body(again)["detail"] == (
        f"order {order_id} is already CANCELLED; only PLACED orders can be cancelled"
    )
    assert items(db) == stored


def test_cancel_unknown_order_is_404_and_creates_nothing(
    api: OrdersApi, db: Any, version: str
) -> None:
    answer = api.handler(api_event(version, "POST", "/orders/ord-ghost/cancel"), None)
    assert (answer["statusCode"], body(answer)["detail"]) == (404, "no order 'ord-ghost'")
    assert items(db) == []


def test_same_key_and_body_replays_the_original_answer(
    api: OrdersApi, db: Any, version: str
) -> None:
    # GIVEN an order placed with an Idempotency-Key
    first = place(api, version, **{"Idempotency-Key": "key-1"})
    stored = items(db)

    # WHEN the same request comes again (keys reordered, different correlation id)
    doc = dict(reversed(list(order_body().items())))
    again = place(api, version, doc, **{"Idempotency-Key": "key-1", "X-Correlation-Id": "c2"})

    # THEN the original answer, marked as a replay, and no new write
    assert again["statusCode"] == 202
    assert body(again) == body(first)
    assert header(again, "Location") == header(first, "Location")
    assert header(again, "Idempotent-Replayed") == "true"
    assert header(first, "Idempotent-Replayed") is None
    assert items(db) == stored
    assert stored[0]["idempotency_key"] == {"S": "key-1"}


def test_a_replay_after_cancel_still_answers_the_original_result(
    api: OrdersApi, db: Any, version: str
) -> None:
    order_id = body(place(api, version, **{"Idempotency-Key": "key-2"}))["id"]
    api.handler(api_event(version, "POST", f"/orders/{order_id}/cancel"), None)
    again = place(api, version, **{"Idempotency-Key": "key-2"})
    assert (again["statusCode"], body(again)) == (202, {"id": order_id, "status": "PLACED"})
    assert items(db)[0]["status"] == {"S": "CANCELLED"}


def test_same_key_with_another_body_is_409_and_changes_nothing(
    api: OrdersApi, db: Any, version: str
) -> None:
    order_id = body(place(api, version, **{"Idempotency-Key": "key-3"}))["id"]
    stored = items(db)

    other = order_body(customer_id="cust-other")
    answer = place(api, version, other, **{"Idempotency-Key": "key-3"})

    assert answer["statusCode"] == 409
    assert set(body(answer)) == PROBLEM_KEYS
    assert body(answer)["detail"] == (
        f"Idempotency-Key 'key-3' was already used for order {order_id} with a different body; "
        "use a new key for a new order"
    )
    assert items(db) == stored


def test_different_keys_make_different_orders(api: OrdersApi, db: Any, version: str) -> None:
    ids = {body(place(api, version, **{"Idempotency-Key": k}))["id"] for k in ("a", "b")}
    assert len(ids) == 2 and len(items(db)) == 2


def test_a_storage_failure_is_a_500_problem_not_a_crash(moto: None, version: str) -> None:
    # GIVEN an API whose table does not exist
    api = OrdersApi(OrdersStore(Clients().dynamodb, "no-such-table"))

    answer = place(api, version, **{"X-Correlation-Id": "corr-500"})

    assert answer["statusCode"] == 500
    assert body(answer) == {
        "type": "urn:sluice:problem:internal-error",
        "title": "Internal error",
        "detail": "the request could not be completed; retry it",
        "status": 500,
    }
    assert header(answer, "X-Correlation-Id") == "corr-500"


def test_the_lambda_entry_reads_its_table_from_the_environment(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import producers.api

    # GIVEN the environment the CDK app and the sandbox set (the store is built on first use)
    monkeypatch.setenv("SLUICE_ORDERS_TABLE", TABLE)
    monkeypatch.setattr(producers.api.api, "_store", None)

    # WHEN the Lambda entry point is called
    event = api_event("v2", "POST", "/orders", json.dumps(order_body()), JSON)
    answer = producers.api.handler(event, None)

    # THEN it wrote to that table
    assert answer["statusCode"] == 202 and len(items(db)) == 1
    assert producers.api.api.store.table == TABLE


def test_the_same_key_from_two_callers_makes_two_orders(
    api: OrdersApi, db: Any, version: str
) -> None:
    # GIVEN the same request and key from two callers the gateway (v1) or IAM (v2, a function
    # URL or an HTTP API) authenticated
    answers = []
    for user in ("alice", "bob", "alice"):
        event = api_event(version, "POST", "/orders", json.dumps(order_body()), JSON)
        event["headers"]["Idempotency-Key"] = "shared-key"
        proven = (
            event["requestContext"].get("identity") or event["requestContext"]["authorizer"]["iam"]
        )
        proven["userArn"] = f"arn:aws:iam::123456789012:user/{user}"
        answers.append(api.handler(event, None))

    # THEN each got its own order, neither replays the other's, and alice's retry replays hers
    assert [a["statusCode"] for a in answers] == [202, 202, 202]
    alice, bob, again = (body(a)["id"] for a in answers)
    assert alice != bob and again == alice
    assert [header(a, "Idempotent-Replayed") for a in answers] == [None, None, "true"]
    assert len(items(db)) == 2
