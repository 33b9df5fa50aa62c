"""Fuzz the API function's one entry, ``DirectInvoke``, with any JSON a caller can invoke it with.

Invariants: every input gets a clear answer in the shape it was sent in (a success, or a
problem with a 4xx status); nothing escapes; the well-formed calls around it still work;
and every input is accounted for: the table holds exactly the orders answered as placed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producers.api import OrdersApi, OrdersStore
from producers.operations import OPERATIONS
from sluice.rpc import DirectInvoke, is_proxy_event
from tests.conftest import Pipeline
from tests.factories import sample
from tests.functional.http_events import header
from tests.fuzz.strategies import JSON_TEXT, any_json

CALLER = "arn:aws:iam::123456789012:role/fuzz-neighbour"
LINE = {"sku": "SKU-FUZZ", "quantity": 1, "unit_price_cents": 100}
NAMES = [op.name for op in OPERATIONS.operations]
PROBLEM = {"type", "title", "status", "detail"}


def mostly(good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` two times in three, so many inputs get past the shape checks to the routes."""
    return st.sampled_from([True, True, False]).flatmap(lambda ok: good if ok else odd)


_texts = st.sampled_from(["k-1", "c-1", CALLER, "ord-1"]) | JSON_TEXT
_orders = mostly(
    st.just({"customer_id": "c-fuzz", "items": [LINE]}),
    st.fixed_dictionaries(
        {"customer_id": _texts, "items": st.lists(mostly(st.just(LINE), any_json), max_size=3)},
        optional={"currency": st.just("EUR") | any_json, "reason": any_json},
    ),
)
_VALUES = {
    "params": mostly(st.fixed_dictionaries({"order_id": _texts}), any_json),
    "body": mostly(_orders, any_json),
    "idempotency_key": mostly(_texts, any_json),
    "correlation_id": mostly(_texts, any_json),
    "caller": mostly(st.just(CALLER), _texts | any_json),
}


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A payload: a real or odd op, and some of the other fields, each with any value."""
    doc = {"op": draw(mostly(st.sampled_from(NAMES), any_json))}
    for name in draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True)):
        doc[name] = draw(_VALUES[name])
    return doc


def _objects(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The event and the objects inside its request context: where fields get changed."""
    context = doc.get("requestContext")
    if not isinstance(context, dict):
        return [doc]
    return [doc, context, *(v for v in context.values() if isinstance(v, dict))]


@st.composite
def proxy_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """A gateway sample (v1 or v2) with fields replaced or dropped, at any depth."""
    doc: dict[str, Any] = sample(draw(st.sampled_from(["apigw_rest_v1", "apigw_http_v2"])))
    doc["body"] = draw(st.none() | _orders.map(json.dumps))
    for _ in range(draw(st.integers(0, 3))):
        parent = draw(st.sampled_from(_objects(doc)))
        if not parent:
            continue
        name = draw(st.sampled_from(sorted(parent)))
        if draw(st.booleans()):
            del parent[name]
        else:
            parent[name] = draw(any_json)
    return doc


INPUTS = st.one_of(any_json, payloads(), proxy_shaped())


def entry_on(pipeline: Pipeline) -> DirectInvoke:
    """The API function's entry on the pipeline's moto orders table."""
    store = OrdersStore(pipeline.clients.dynamodb, pipeline.topology.table("orders"))
    return DirectInvoke(OrdersApi(store).handler, OPERATIONS)


@pytest.fixture
def entry(pipeline: Pipeline) -> DirectInvoke:
    """``entry_on`` this test's pipeline."""
    return entry_on(pipeline)


def orders(pipeline: Pipeline) -> int:
    """How many orders the table holds (moto counts them live; AWS, every six hours)."""
    table = pipeline.clients.dynamodb.describe_table(TableName=pipeline.topology.table("orders"))
    return int(table["Table"]["ItemCount"])


def stored(pipeline: Pipeline, order_id: str) -> bool:
    found = pipeline.clients.dynamodb.get_item(
        TableName=pipeline.topology.table("orders"), Key={"id": {"S": order_id}}
    )
    return "Item" in found


def placed_by(answer: dict[str, Any]) -> set[str]:
    """The order an answer reports as newly placed, in either shape."""
    if "ok" in answer:
        new = answer["status"] == 202 and "Idempotent-Replayed" not in answer.get("headers", {})
        return {answer["body"]["id"]} if answer["ok"] and new else set()
    if answer["statusCode"] == 202 and header(answer, "Idempotent-Replayed") is None:
        return {json.loads(answer["body"])["id"]}
    return set()


def assert_clear(sent: Any, answer: dict[str, Any]) -> None:
    """A success, or a problem with a 4xx status, in the shape ``sent`` was sent in."""
    if is_proxy_event(sent):
        status = answer["statusCode"]
        assert status < 500, answer
        if status >= 400:
            assert header(answer, "Content-Type") == "application/problem+json"
            found = json.loads(answer["body"])
            assert set(found) == PROBLEM and found["status"] == status and found["detail"]
        return
    assert isinstance(answer["ok"], bool) and answer["correlation_id"], answer
    if answer["ok"]:
        assert 200 <= answer["status"] < 300, answer
    else:
        assert 400 <= answer["status"] < 500, answer
        assert set(answer["problem"]) == PROBLEM and answer["problem"]["detail"]
        assert answer["problem"]["status"] == answer["status"]


@given(odd=INPUTS)
def test_any_json_gets_a_clear_answer_and_leaves_its_neighbours_working(
    pipeline: Pipeline, entry: DirectInvoke, odd: Any
) -> None:
    before = orders(pipeline)
    # GIVEN a well-formed place_order, then the odd input, then a read of the first order
    first = entry(
        {
            "op": "place_order",
            "body": {"customer_id": "c-fuzz", "items": [LINE]},
            "idempotency_key": f"k-{uuid.uuid4()}",
            "caller": CALLER,
        },
        None,
    )
    answer = entry(odd, None)
    order_id = first["body"]["id"]
    read = entry({"op": "get_order", "params": {"order_id": order_id}}, None)
    # THEN the odd input got a clear answer, and the neighbours did their work
    assert_clear(odd, answer)
    assert (first["ok"], first["status"]) == (True, 202)
    assert (read["ok"], read["status"], read["body"]["id"]) == (True, 200, order_id)
    # AND the table holds exactly the orders answered as placed: those, and no other
    placed = {order_id} | placed_by(answer)
    assert all(stored(pipeline, placed_id) for placed_id in placed)
    assert orders(pipeline) == before + len(placed)
