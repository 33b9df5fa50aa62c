"""The sandbox's Lambda Invoke endpoint, driven by boto3 and ``ApiClient`` over real HTTP.

The function behind it is a small proxy handler of the test's own, so crashes and busy
environments can be arranged; the orders API behind it is ``tests/sandbox/test_invoke.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from producers.api import OrdersApi, OrdersStore
from producers.operations import OPERATIONS
from sluice.local.http_front import ApiServer
from sluice.local.inprocess import serialized_mock_aws
from sluice.local.invoke_front import InvokeServer
from sluice.local.logs import LogSink
from sluice.rpc import (
    ApiClient,
    DirectInvoke,
    FunctionCrashedError,
    Operation,
    Operations,
    ThrottledError,
)
from tests.factories import REGION

ECHO = Operations((Operation("echo", "POST", "/echo"), Operation("boom", "POST", "/boom")))
CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}


class Function:
    """A proxy handler: /echo answers its body (waiting on ``gate`` if set); /boom raises."""

    def __init__(self) -> None:
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self.calls = 0

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        if event["path"] == "/boom":
            raise RuntimeError("the table is gone")
        return {"statusCode": 200, "headers": {"X-Correlation-Id": "c"}, "body": event["body"]}


@pytest.fixture
def front() -> Iterator[tuple[InvokeServer, Function]]:
    function = Function()
    api = ApiServer([DirectInvoke(function, ECHO)], LogSink(None), region=REGION, prefix="t")
    api.start()
    invoke = InvokeServer(api, "t-api", LogSink(None), region=REGION).start()
    try:
        yield invoke, function
    finally:
        invoke.stop()
        api.stop()


def lambda_client(url: str) -> Any:
    """boto3's Lambda client, without its own retries (so a throttle shows)."""
    once = Config(retries={"total_max_attempts": 1})
    return boto3.client("lambda", endpoint_url=url, region_name=REGION, config=once, **CREDENTIALS)


def client(url: str, **options: Any) -> ApiClient:
    session = boto3.Session(region_name=REGION, **CREDENTIALS)
    return ApiClient.over_invoke("t-api", ECHO, endpoint_url=url, session=session, **options)


def test_a_call_by_name_or_arn_returns_the_answer(front: tuple[InvokeServer, Function]) -> None:
    invoke, _ = front
    done = client(invoke.url).call("echo", body={"n": 1})
    assert (done["ok"], done["status"], done["body"]) == (True, 200, {"n": 1})
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:t-api"
    response = lambda_client(invoke.url).invoke(
        FunctionName=arn, Payload=b'{"op": "echo", "body": 2}'
    )
    assert json.loads(response["Payload"].read())["body"] == 2


def test_a_crash_is_a_function_error_and_a_typed_crash(
    front: tuple[InvokeServer, Function],
) -> None:
    invoke, _ = front
    response = lambda_client(invoke.url).invoke(FunctionName="t-api", Payload=b'{"op": "boom"}')
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "the table is gone")
    with pytest.raises(FunctionCrashedError, match="the table is gone") as crashed:
        client(invoke.url).call("boom")
    assert crashed.value.error_type == "RuntimeError"


def test_a_5xx_from_the_route_is_a_function_error_not_a_refusal() -> None:
    # GIVEN the orders API on a table that does not exist (every write fails with a 500)
    with serialized_mock_aws():
        db = boto3.client("dynamodb", region_name=REGION, **CREDENTIALS)
        entry = DirectInvoke(OrdersApi(OrdersStore(db, "no-such-table")).handler, OPERATIONS)
        api = ApiServer([entry], LogSink(None), region=REGION, prefix="t").start()
        invoke = InvokeServer(api, "t-api", LogSink(None), region=REGION).start()
        try:
            # WHEN an order is placed over Invoke THEN Lambda reports a function error
            payload = {"op": "get_order", "params": {"order_id": "o-1"}}
            response = lambda_client(invoke.url).invoke(
                FunctionName="t-api", Payload=json.dumps(payload).encode()
            )
        finally:
            invoke.stop()
            api.stop()
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "OperationCrashed"
    assert error["errorMessage"] == (
        "get_order failed with 500: the request could not be completed; retry it"
    )


def test_a_busy_function_throttles_and_the_client_retries(
    front: tuple[InvokeServer, Function],
) -> None:
    invoke, function = front
    # GIVEN the only execution environment busy with a call that waits on a gate
    function.gate = threading.Event()
    first = threading.Thread(target=lambda: client(invoke.url).call("echo", body=1))
    first.start()
    assert function.entered.wait(5)
    # THEN a raw Invoke is throttled as Lambda throttles: 429 TooManyRequestsException
    with pytest.raises(ClientError) as throttled:
        lambda_client(invoke.url).invoke(FunctionName="t-api", Payload=b'{"op": "echo"}')
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    # AND a client that gives up early raises ThrottledError after its attempts
    slept: list[float] = []
    with pytest.raises(ThrottledError, match="still throttled after 3 attempts"):
        client(invoke.url, attempts=3, sleep=slept.append).call("echo", body=2)
    assert len(slept) == 2 and all(0 <= s <= 0.1 for s in slept)
    # AND a client that keeps retrying gets through once the environment is free
    threading.Timer(0.3, function.gate.set).start()
    done = client(invoke.url, attempts=12, base_delay_s=0.05, max_delay_s=0.2).call("echo", body=3)
    first.join(5)
    assert done["body"] == 3


def test_what_lambda_refuses_before_the_function_runs(
    front: tuple[InvokeServer, Function],
) -> None:
    invoke, function = front
    lam = lambda_client(invoke.url)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="t-other", Payload=b"{}")
    with pytest.raises(lam.exceptions.InvalidRequestContentException, match="parse"):
        lam.invoke(FunctionName="t-api", Payload=b"{not json")
    assert lam.invoke(FunctionName="t-api", InvocationType="DryRun")["StatusCode"] == 204
    assert function.calls == 0


def test_an_event_invocation_is_accepted_then_run(front: tuple[InvokeServer, Function]) -> None:
    invoke, function = front
    response = lambda_client(invoke.url).invoke(
        FunctionName="t-api", InvocationType="Event", Payload=b'{"op": "echo", "body": 1}'
    )
    assert response["StatusCode"] == 202
    assert function.entered.wait(5)
