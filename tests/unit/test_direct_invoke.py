"""DirectInvoke without AWS: the proxy event a direct call becomes, and the answer it gets.

The app's handler is a recording fake here, so each test states the exact event a gateway
would have sent and the exact answer a caller reads back.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from sluice.rpc import DirectInvoke, Operation, Operations
from sluice.rpc.dispatch import OperationCrashed
from tests.factories import sample

OPS = Operations((Operation("put_thing", "PUT", "/things/<thing_id>"),))
CALLER = "arn:aws:iam::123456789012:role/p"
CONTEXT = SimpleNamespace(
    invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:api",
    aws_request_id="req-1",
)


class Handler:
    """The app's proxy handler: records each (event, context), answers ``response``."""

    def __init__(self, response: dict[str, Any] | None = None) -> None:
        self.response = response or {"statusCode": 204}
        self.calls: list[tuple[dict[str, Any], Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.calls.append((event, context))
        return self.response


def _call(response: dict[str, Any] | None = None, **payload: Any) -> tuple[Any, Handler]:
    handler = Handler(response)
    answer = DirectInvoke(handler, OPS).invoke(
        {"op": "put_thing", "params": {"thing_id": "t-1"}, **payload}, CONTEXT
    )
    return answer, handler


def _is_uuid(text: Any) -> bool:
    return isinstance(text, str) and str(uuid.UUID(text)) == text


def test_a_direct_call_reaches_the_handler_as_the_rest_event_a_gateway_sends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_795_459_460.1234)
    _, handler = _call(
        body={"name": "Crème"},
        correlation_id="c-1",
        caller=CALLER,
        idempotency_key="k-1",
    )
    [(event, context)] = handler.calls
    headers = {
        "Content-Type": "application/json",
        OPS.idempotency_header: "k-1",
        OPS.correlation_header: "c-1",
    }
    assert context is CONTEXT
    assert event == {
        "resource": "/things/{thing_id}",
        "path": "/things/t-1",
        "httpMethod": "PUT",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/things/<thing_id>",
            "httpMethod": "PUT",
            "path": "/things/t-1",
            "stage": "$invoke",
            "accountId": "123456789012",
            "requestId": "req-1",
            "requestTimeEpoch": 1_795_459_460_123,
            "identity": {"userArn": CALLER, "caller": CALLER, "sourceIp": None},
        },
        "body": '{"name":"Crème"}',
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("arn", "account"),
    [
        ("arn:aws:iam::123456789012:root", "123456789012"),
        ("arn:aws:lambda:eu-west-1:123456789012", None),
        ("", None),
        (None, None),
    ],
)
def test_the_account_is_read_from_the_invoked_arn_when_there_is_one(
    arn: str | None, account: str | None
) -> None:
    handler = Handler()
    DirectInvoke(handler, OPS).invoke(
        {"op": "put_thing", "params": {"thing_id": "t-1"}},
        SimpleNamespace(invoked_function_arn=arn, aws_request_id=None),
    )
    [(event, _)] = handler.calls
    assert event["requestContext"]["accountId"] == account
    assert _is_uuid(event["requestContext"]["requestId"])


def test_a_call_without_a_lambda_context_gets_a_fresh_request_id_each_time() -> None:
    handler = Handler()
    invoke = DirectInvoke(handler, OPS)
    for _ in range(2):
        invoke.invoke({"op": "put_thing", "params": {"thing_id": "t-1"}}, None)
    ids = [event["requestContext"]["requestId"] for event, _ in handler.calls]
    assert all(map(_is_uuid, ids)) and ids[0] != ids[1]
    assert [event["requestContext"]["accountId"] for event, _ in handler.calls] == [None, None]


def test_a_route_answer_comes_back_with_its_status_body_headers_and_correlation() -> None:
    response = {
        "statusCode": 201,
        "headers": {"x-correlation-id": "c-route", "Content-Type": "application/json"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Empty": []},
        "body": '{"id":"t-1"}',
    }
    answer, _ = _call(response, correlation_id="c-1")
    assert answer == {
        "ok": True,
        "op": "put_thing",
        "status": 201,
        "body": {"id": "t-1"},
        "headers": {
            "x-correlation-id": "c-route",
            "Content-Type": "application/json",
            "Set-Cookie": "b=2",
        },
        "correlation_id": "c-route",
    }


def test_an_answer_without_status_or_body_is_a_200_with_no_body() -> None:
    answer, _ = _call({"headers": {"X-Count": 3}}, correlation_id="c-1")
    assert (answer["status"], answer["body"], answer["headers"]) == (200, None, {"X-Count": "3"})
    assert answer["correlation_id"] == "c-1"


@pytest.mark.parametrize(
    ("response", "body"),
    [
        ({"body": base64.b64encode(b'{"n":1}').decode(), "isBase64Encoded": True}, {"n": 1}),
        ({"body": "plain words"}, "plain words"),
        ({"body": ""}, None),
        ({"body": None}, None),
    ],
)
def test_a_body_is_decoded_as_the_route_sent_it(response: dict[str, Any], body: Any) -> None:
    answer, _ = _call({"statusCode": 200, **response})
    assert answer["body"] == body


def test_without_a_correlation_id_anywhere_the_answer_gets_a_fresh_one() -> None:
    first, _ = _call()
    second, _ = _call()
    assert _is_uuid(first["correlation_id"]) and _is_uuid(second["correlation_id"])
    assert first["correlation_id"] != second["correlation_id"]


def test_a_4xx_problem_is_a_refusal_carrying_the_routes_problem() -> None:
    found = {"type": "urn:x:conflict", "title": "Conflict", "status": 409, "detail": "taken"}
    answer, _ = _call(
        {"statusCode": 409, "body": json.dumps(found), "headers": {"X-Correlation-Id": "c-9"}}
    )
    assert answer == {
        "ok": False,
        "op": "put_thing",
        "status": 409,
        "problem": found,
        "correlation_id": "c-9",
    }


def test_a_4xx_that_is_no_problem_document_becomes_one_with_its_text() -> None:
    answer, _ = _call({"statusCode": 403, "body": '{"message":"Forbidden"}'}, correlation_id="c")
    assert answer == {
        "ok": False,
        "op": "put_thing",
        "status": 403,
        "problem": {
            "type": "urn:sluice:problem:error",
            "title": "Error",
            "status": 403,
            "detail": "{'message': 'Forbidden'}",
        },
        "correlation_id": "c",
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [('{"detail":"table gone","status":503}', "table gone"), ("bad gateway", "bad gateway")],
)
def test_a_5xx_is_a_crash_lambda_reports_as_a_function_error(body: str, detail: str) -> None:
    with pytest.raises(OperationCrashed) as crashed:
        _call({"statusCode": 503, "body": body})
    assert str(crashed.value) == f"put_thing failed with 503: {detail}"


@pytest.mark.parametrize(
    ("payload", "op"),
    [
        ({"op": "put_thing", "params": {"thing_id": "t-1"}, "extra": 1}, "put_thing"),
        ({"op": 5, "correlation_id": "c-1"}, None),
        ({"op": "drop_thing", "correlation_id": "c-1"}, "drop_thing"),
    ],
)
def test_a_bad_payload_is_refused_under_the_op_it_named(payload: dict[str, Any], op: Any) -> None:
    handler = Handler()
    answer = DirectInvoke(handler, OPS).invoke(payload, CONTEXT)
    assert (answer["ok"], answer["op"]) == (False, op)
    assert handler.calls == []
    if "correlation_id" in payload:
        assert answer["correlation_id"] == "c-1"


@pytest.mark.parametrize("payload", [[1, 2], "put_thing", None])
def test_a_payload_that_is_no_object_is_refused_under_no_op(payload: Any) -> None:
    answer = DirectInvoke(Handler(), OPS).invoke(payload, CONTEXT)
    assert (answer["ok"], answer["op"], answer["status"]) == (False, None, 400)
    assert _is_uuid(answer["correlation_id"])


@pytest.mark.parametrize("given", ["", 7, None])
def test_a_refusal_without_a_text_correlation_id_gets_a_fresh_one(given: Any) -> None:
    answer = DirectInvoke(Handler(), OPS).invoke({"op": 5, "correlation_id": given}, CONTEXT)
    assert _is_uuid(answer["correlation_id"])


def test_a_body_that_cannot_be_json_is_refused_before_the_handler() -> None:
    answer, handler = _call(body={1, 2})
    assert handler.calls == []
    assert answer["problem"] == {
        "type": "urn:sluice:problem:invalid-request",
        "title": "Invalid request",
        "status": 400,
        "detail": "body: cannot be sent on as JSON (Object of type set is not JSON serializable)",
    }


def test_a_whole_proxy_event_goes_to_the_handler_as_it_is() -> None:
    handler = Handler({"statusCode": 200, "body": "hi"})
    event = sample("apigw_rest_v1")
    assert DirectInvoke(handler, OPS)(event, CONTEXT) == {"statusCode": 200, "body": "hi"}
    assert handler.calls == [(event, CONTEXT)]


def test_a_direct_payload_given_to_the_entry_gets_the_lambda_context() -> None:
    handler = Handler()
    DirectInvoke(handler, OPS)({"op": "put_thing", "params": {"thing_id": "t-1"}}, CONTEXT)
    [(_, context)] = handler.calls
    assert context is CONTEXT


def test_a_broken_proxy_event_is_answered_400_over_http_with_a_problem() -> None:
    event = {**sample("apigw_rest_v1"), "httpMethod": 7}
    handler = Handler()
    response = DirectInvoke(handler, OPS)(event, CONTEXT)
    assert handler.calls == []
    assert (response["statusCode"], response["isBase64Encoded"]) == (400, False)
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert _is_uuid(response["headers"][OPS.correlation_header])
    assert response["body"] == json.dumps(json.loads(response["body"]), separators=(",", ":"))
    assert json.loads(response["body"])["status"] == 400
