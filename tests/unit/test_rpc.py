"""sluice.rpc without sockets: typed errors from answers, throttle retries, declarations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from sluice.rpc import (
    Answer,
    ApiClient,
    ConflictError,
    NotFoundError,
    Operation,
    Operations,
    Payload,
    RefusedError,
    ThrottledError,
    is_proxy_event,
)
from sluice.rpc.operations import BadPayload
from tests.factories import sample

OPS = Operations((Operation("get_thing", "GET", "/things/<thing_id>"),))


class Scripted:
    """A transport that answers from a script: an answer, or an exception to raise."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.sent: list[Payload] = []

    def send(self, payload: Payload) -> Answer:
        self.sent.append(payload)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        answer: Answer = step
        return answer


def refusal(status: int, detail: str) -> dict[str, Any]:
    problem = {"type": "urn:x", "title": "t", "status": status, "detail": detail}
    return {
        "ok": False,
        "op": "get_thing",
        "status": status,
        "problem": problem,
        "correlation_id": "c-1",
    }


OK = {
    "ok": True,
    "op": "get_thing",
    "status": 200,
    "body": {"id": "t-1"},
    "headers": {},
    "correlation_id": "c-2",
}


def test_a_refusal_raises_the_class_of_its_status_with_the_problem() -> None:
    client = ApiClient(Scripted(refusal(409, "taken")), OPS)
    with pytest.raises(ConflictError) as raised:
        client.call("get_thing", params={"thing_id": "t-1"}, correlation_id="c-1")
    assert (raised.value.detail, raised.value.correlation_id) == ("taken", "c-1")
    assert raised.value.problem["status"] == 409


def test_an_unmapped_status_is_still_a_refusal() -> None:
    with pytest.raises(RefusedError) as raised:
        ApiClient(Scripted(refusal(418, "teapot")), OPS).call("get_thing")
    assert type(raised.value) is RefusedError


def test_an_unknown_operation_is_refused_before_any_request() -> None:
    transport = Scripted()
    with pytest.raises(NotFoundError, match="no operation 'get_other'"):
        ApiClient(transport, OPS).call("get_other")
    assert transport.sent == []


def test_the_payload_carries_what_was_given_and_the_caller() -> None:
    transport = Scripted(OK)
    ApiClient(transport, OPS, caller="arn:aws:iam::123456789012:role/p").call(
        "get_thing", params={"thing_id": "t-1"}, idempotency_key="k", correlation_id="c"
    )
    assert transport.sent == [
        {
            "op": "get_thing",
            "params": {"thing_id": "t-1"},
            "idempotency_key": "k",
            "correlation_id": "c",
            "caller": "arn:aws:iam::123456789012:role/p",
        }
    ]


def test_a_client_claiming_to_be_no_principal_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="caller: must be the ARN of the IAM principal") as bad:
        ApiClient(Scripted(), OPS, caller="billing")
    assert str(bad.value).endswith("got 'billing'")


def test_throttles_are_retried_with_capped_jittered_backoff() -> None:
    slept: list[float] = []
    transport = Scripted(ThrottledError("1"), ThrottledError("2"), ThrottledError("3"), OK)
    client = ApiClient(transport, OPS, base_delay_s=0.1, max_delay_s=0.15, sleep=slept.append)
    assert client.call("get_thing")["body"] == {"id": "t-1"}
    assert len(slept) == 3 and len(transport.sent) == 4
    assert all(0 <= s <= ceiling for s, ceiling in zip(slept, (0.1, 0.15, 0.15), strict=True))


def test_a_refusal_is_never_retried() -> None:
    transport = Scripted(refusal(404, "gone"), OK)
    with pytest.raises(NotFoundError):
        ApiClient(transport, OPS, sleep=lambda _: None).call("get_thing")
    assert len(transport.sent) == 1


def test_throttled_on_every_attempt_raises_throttled() -> None:
    transport = Scripted(*[ThrottledError("x")] * 2)
    with pytest.raises(ThrottledError, match="still throttled after 2 attempts"):
        ApiClient(transport, OPS, attempts=2, sleep=lambda _: None).call("get_thing")


def test_operations_are_declared_with_names_callers_can_send() -> None:
    with pytest.raises(ValueError, match="operation name 'Get-Thing'"):
        Operation("Get-Thing", "GET", "/things")
    with pytest.raises(ValueError, match="declared twice: get_thing"):
        Operations((OPS.operations[0], OPS.operations[0]))
    assert OPS.operations[0].parameters == ("thing_id",)
    assert OPS.operations[0].target({"thing_id": "t-9"}) == "/things/t-9"


def test_a_param_is_refused_exactly_when_no_route_could_match_it() -> None:
    # GIVEN a Powertools route with a path parameter, which answers the id it matched
    resolver = APIGatewayRestResolver()
    resolver.get("/things/<thing_id>")(lambda thing_id: {"id": thing_id})
    codes = [*range(0x20, 0x7F), 0x0A, 0xE9, 0x20AC, 0x4E2D, 0x1F600]
    for value in [*(f"a{chr(code)}b" for code in codes), "ab\n"]:
        event = {**sample("apigw_rest_v1"), "httpMethod": "GET", "path": f"/things/{value}"}
        # WHEN that id is a payload's parameter, and a request's path segment
        try:
            OPS.read({"op": "get_thing", "params": {"thing_id": value}}, json.dumps)
        except BadPayload:
            read = False
        else:
            read = True
        answer = resolver.resolve(event, None)
        routed = answer["statusCode"] == 200 and json.loads(answer["body"]) == {"id": value}
        # THEN the payload is read exactly when the route matches the whole id
        assert read == routed, value


@pytest.mark.parametrize("name", ["apigw_rest_v1", "apigw_http_v2"])
def test_gateway_events_are_proxy_events_and_payloads_are_not(name: str) -> None:
    assert is_proxy_event(sample(name))
    assert not is_proxy_event({"op": "get_thing", "requestContext": {}})
    assert not is_proxy_event([1])
