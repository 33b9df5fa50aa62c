"""Internal producers through Lambda Invoke against ``sluice up``: the client, key spaces.

The sandbox serves the API function's Invoke API on its own port; boto3's Lambda client and
``producers.client.OrdersClient`` reach it with only an endpoint URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from producers.client import OrdersClient
from sluice.rpc import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RefusedError,
)
from tests.sandbox.conftest import Running

pytestmark = pytest.mark.sandbox
LINE = {"sku": "SKU-INV", "quantity": 2, "unit_price_cents": 150}
ORDER = {"customer_id": "cust-inv", "items": [LINE], "currency": "EUR"}
BILLING = "arn:aws:iam::123456789012:role/billing"
SHIPPING = "arn:aws:iam::123456789012:role/shipping"


def lambda_client(sandbox: Running) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=sandbox.box.invoke_url,
        region_name=sandbox.box.region,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def clients(sandbox: Running, caller: str | None = BILLING) -> dict[str, OrdersClient]:
    """The producers' client over each transport, against this sandbox (Invoke as ``caller``)."""
    session = boto3.Session(
        region_name=sandbox.box.region,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    return {
        "invoke": OrdersClient.over_invoke(
            sandbox.box.api_function,
            caller=caller,
            endpoint_url=sandbox.box.invoke_url,
            session=session,
        ),
        "http": OrdersClient.over_http(sandbox.box.api_url, session=session),
    }


def orders_with_key(sandbox: Running, key: str) -> list[dict[str, Any]]:
    assert sandbox.box.clients is not None
    found = sandbox.box.clients.dynamodb.scan(
        TableName=sandbox.box.topology.table("orders"),
        FilterExpression="idempotency_key = :k",
        ExpressionAttributeValues={":k": {"S": key}},
        ConsistentRead=True,
    )
    return list(found["Items"])


def test_boto3_invokes_the_api_function_and_gets_an_answer(sandbox: Running) -> None:
    # WHEN a producer invokes the API function with a place_order payload
    payload = {"op": "place_order", "body": ORDER, "correlation_id": "corr-invoke-1"}
    response = lambda_client(sandbox).invoke(
        FunctionName=sandbox.box.api_function, Payload=json.dumps(payload).encode()
    )
    answer = json.loads(response["Payload"].read())
    # THEN Lambda reports no function error and the answer is the route's, as over HTTP
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert answer["ok"] is True and answer["status"] == 202
    assert answer["correlation_id"] == "corr-invoke-1"
    order_id = answer["body"]["id"]
    assert answer["headers"]["Location"] == f"/orders/{order_id}"
    # AND the order flows through the pipeline like one placed over HTTP
    names = [s.name for s in sandbox.box.registry.subscribers("order.placed")]
    sandbox.wait(lambda: sandbox.box.tally.done_at("corr-invoke-1", names) is not None)


def test_a_refusal_is_an_answer_not_a_function_error(sandbox: Running) -> None:
    payload = {"op": "place_order", "body": {**ORDER, "items": []}}
    response = lambda_client(sandbox).invoke(
        FunctionName=sandbox.box.api_function, Payload=json.dumps(payload).encode()
    )
    answer = json.loads(response["Payload"].read())
    assert "FunctionError" not in response
    assert answer["ok"] is False
    assert answer["problem"] == {
        "type": "urn:sluice:problem:invalid-request",
        "title": "Invalid request",
        "detail": "items: must have at least 1 item, got 0",
        "status": 400,
    }


def test_each_caller_has_its_own_key_space(sandbox: Running) -> None:
    key = f"key-{uuid.uuid4().hex}"
    billing, shipping = clients(sandbox)["invoke"], clients(sandbox, SHIPPING)["invoke"]
    # GIVEN billing placed an order with a key over Lambda Invoke
    first = billing.place_order(ORDER["customer_id"], [LINE], idempotency_key=key)
    # WHEN billing sends it again, THEN it is the same order, answered as a replay
    again = billing.place_order(ORDER["customer_id"], [LINE], idempotency_key=key)
    assert (again.order_id, first.replayed, again.replayed) == (first.order_id, False, True)
    # AND shipping's same key and body is shipping's own order, written
    theirs = shipping.place_order(ORDER["customer_id"], [LINE], idempotency_key=key)
    assert (theirs.order_id != first.order_id, theirs.replayed) == (True, False)
    # AND the sandbox's HTTP front, which checks no signature, is anonymous: a space of its own
    status, anonymous = sandbox.client.request("POST", "/orders", ORDER, {"Idempotency-Key": key})
    assert status == 202 and anonymous["id"] not in (first.order_id, theirs.order_id)
    # AND a client that names no caller is refused, and is told of no one's order
    with pytest.raises(InvalidRequestError, match="caller: required with an idempotency_key"):
        clients(sandbox, None)["invoke"].place_order("someone", [LINE], idempotency_key=key)
    # AND billing's key with another body is a conflict naming billing's own order
    with pytest.raises(ConflictError, match=f"already used for order {first.order_id} "):
        billing.place_order("someone-else", [LINE], idempotency_key=key)
    found = sorted(item["id"]["S"] for item in orders_with_key(sandbox, key))
    assert found == sorted([first.order_id, theirs.order_id, anonymous["id"]])


@pytest.mark.parametrize("transport", ["invoke", "http"])
def test_the_client_raises_typed_errors_from_real_answers(sandbox: Running, transport: str) -> None:
    orders = clients(sandbox)[transport]
    # a placed order reads back and cancels
    placed = orders.place_order("cust-typed", [LINE], correlation_id=f"corr-{transport}")
    assert placed.status == "PLACED" and placed.correlation_id == f"corr-{transport}"
    assert orders.get_order(placed.order_id)["customer_id"] == "cust-typed"
    assert orders.cancel_order(placed.order_id, "changed my mind")["status"] == "CANCELLED"
    # each refusal is its own class, carrying the problem the API sent
    with pytest.raises(ConflictError) as conflict:
        orders.cancel_order(placed.order_id)
    assert conflict.value.problem["detail"] == (
        f"order {placed.order_id} is already CANCELLED; only PLACED orders can be cancelled"
    )
    with pytest.raises(NotFoundError) as missing:
        orders.get_order("ord-nowhere")
    assert missing.value.problem == {
        "type": "urn:sluice:problem:not-found",
        "title": "Not found",
        "detail": "no order 'ord-nowhere'",
        "status": 404,
    }
    with pytest.raises(InvalidRequestError) as invalid:
        orders.place_order("cust-typed", [{**LINE, "quantity": 0}], currency="euro")
    assert invalid.value.detail == (
        "items[0].quantity: must be at least 1, got 0; currency: must match [A-Z]{3}, got 'euro'"
    )
    assert isinstance(invalid.value, RefusedError) and invalid.value.correlation_id


def _sluice(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SLUICE_STATE_DIR": str(state_dir), "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "sluice.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sluice_invoke_api_sends_a_payload_to_the_sandbox(sandbox: Running, tmp_path: Path) -> None:
    # GIVEN the running sandbox's state, and an order placed over HTTP
    sandbox.box.state(None).save(tmp_path / "sandbox.json")
    status, placed = sandbox.client.request("POST", "/orders", ORDER)
    assert status == 202
    call = tmp_path / "get.json"
    call.write_text(json.dumps({"op": "get_order", "params": {"order_id": placed["id"]}}))
    # WHEN `sluice invoke api --payload FILE --local` reads it back through Lambda Invoke
    done = _sluice(tmp_path, "invoke", "api", "--payload", str(call), "--local")
    # THEN the answer is printed and the exit code is 0
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["ok"], answer["body"]["id"]) == (True, placed["id"])
    # AND a refusal prints its problem and exits 1
    call.write_text(json.dumps({"op": "get_order", "params": {"order_id": "ord-none"}}))
    done = _sluice(tmp_path, "invoke", "api", "--payload", str(call), "--local")
    assert done.returncode == 1
    assert json.loads(done.stdout)["problem"]["detail"] == "no order 'ord-none'"


def test_sluice_invoke_api_runs_in_process_without_a_sandbox(tmp_path: Path) -> None:
    call = tmp_path / "place.json"
    call.write_text(json.dumps({"op": "place_order", "body": ORDER, "correlation_id": "cli-7"}))
    done = _sluice(tmp_path, "invoke", "api", "--payload", str(call))
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["ok"], answer["status"], answer["correlation_id"]) == (True, 202, "cli-7")
    done = _sluice(tmp_path, "invoke", "inventory", "--payload", str(call))
    assert done.returncode == 2
    assert "give --event FILE for a worker, or --payload FILE for the API" in done.stderr
