"""The API function's one entry for every caller: API Gateway, a function URL, Lambda Invoke.

Proxy events (REST v1, HTTP API v2, function URLs) go to the app's proxy handler as they
are. Anything else is a direct-invoke payload (``sluice.rpc.types.Payload``): it becomes
the REST proxy event of the route it names, goes through the same handler (so validation,
idempotency, the storage-first write and correlation ids are the HTTP ones), and the proxy
response comes back as an answer: ``{"ok": true, ...}`` or ``{"ok": false, "problem": ...}``.

A refusal is an answer, never an error: Lambda reports ``FunctionError`` only when the
function crashed (the route answered 5xx, or the handler raised), so a caller can tell
"you sent something wrong" from "retry later". A proxy-shaped event no gateway would send
gets a 400 problem as a proxy response (``sluice.rpc.proxy``).

Who called, which idempotency keys are scoped to: a proxy event carries the caller AWS
proved (a gateway or function URL with IAM auth); a payload carries only the one it claims,
``caller``, and must claim one to send an idempotency key. ``sluice.rpc.identity`` says
exactly what is proven and what is asserted.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from sluice.rpc.identity import asserted
from sluice.rpc.operations import BadPayload, Call, Operations, problem
from sluice.rpc.proxy import is_proxy_event, malformed
from sluice.rpc.types import Answer, Problem, Refusal, Success

ProxyHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
PROBLEM_JSON = "application/problem+json"
STAGE = "$invoke"
"""The stage name a direct call's proxy event carries (no gateway stage served it)."""


class OperationCrashed(RuntimeError):
    """The route answered 5xx to a direct call; raised so Lambda reports a FunctionError."""


class DirectInvoke:
    """Wrap an app's proxy handler so it also answers direct-invoke payloads.

    ``DirectInvoke(api.handler, Operations((Operation("place_order", "POST", "/orders"),)))``
    is the Lambda entry; everything that is not a proxy event is a payload naming one of
    ``operations``.
    """

    def __init__(self, proxy: ProxyHandler, operations: Operations) -> None:
        self.proxy = proxy
        self.operations = operations

    def __call__(self, event: Any, context: Any) -> Any:
        """Lambda entry point for proxy events and direct payloads alike."""
        if not is_proxy_event(event):
            return self.invoke(event, context)
        wrong = malformed(event)
        if wrong is None:
            return self.proxy(event, context)
        return self._proxy_refusal(problem(400, wrong))

    def invoke(self, payload: Any, context: Any) -> Answer:
        """Answer one direct payload; raises ``OperationCrashed`` only for a 5xx."""
        given = payload.get("correlation_id") if isinstance(payload, dict) else None
        fallback = given if isinstance(given, str) and given else str(uuid.uuid4())
        try:
            call = self.operations.read(payload, _encode)
        except BadPayload as exc:
            op = payload.get("op") if isinstance(payload, dict) else None
            return _refusal(op if isinstance(op, str) else None, exc.problem, fallback)
        response = self.proxy(self._event(call, context), context)
        return self._answer(call, response, fallback)

    def _event(self, call: Call, context: Any) -> dict[str, Any]:
        """The REST (v1) proxy event API Gateway would have sent for the same request."""
        op = call.operation
        arn = str(getattr(context, "invoked_function_arn", "") or "")
        account = arn.split(":")[4] if arn.count(":") >= 5 else None
        now = time.time()
        return {
            "resource": op.path.replace("<", "{").replace(">", "}"),
            "path": call.path,
            "httpMethod": op.method,
            "headers": dict(call.headers),
            "multiValueHeaders": {k: [v] for k, v in call.headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": op.path,
                "httpMethod": op.method,
                "path": call.path,
                "stage": STAGE,
                "accountId": account,
                "requestId": str(getattr(context, "aws_request_id", None) or uuid.uuid4()),
                "requestTimeEpoch": int(now * 1000),
                "identity": asserted(call.caller),
            },
            "body": call.body,
            "isBase64Encoded": False,
        }

    def _answer(self, call: Call, response: dict[str, Any], fallback: str) -> Answer:
        status = int(response.get("statusCode", 200))
        headers = _headers(response)
        cid = next(
            (v for k, v in headers.items() if k.lower() == self._correlation_key),
            fallback,
        )
        body = _body(response)
        name = call.operation.name
        if status >= 500:
            detail = body.get("detail") if isinstance(body, dict) else body
            raise OperationCrashed(f"{name} failed with {status}: {detail}")
        if status >= 400:
            found = body if _is_problem(body) else problem(status, str(body))
            return _refusal(name, found, cid)
        return Success(
            ok=True, op=name, status=status, body=body, headers=headers, correlation_id=cid
        )

    def _proxy_refusal(self, found: Problem) -> dict[str, Any]:
        """A proxy response carrying ``found``, as the routes answer a refusal over HTTP."""
        headers = {
            "Content-Type": PROBLEM_JSON,
            self.operations.correlation_header: str(uuid.uuid4()),
        }
        return {
            "statusCode": found["status"],
            "headers": headers,
            "body": json.dumps(found, separators=(",", ":")),
            "isBase64Encoded": False,
        }

    @property
    def _correlation_key(self) -> str:
        return self.operations.correlation_header.lower()


def _refusal(op: str | None, found: Problem, correlation_id: str) -> Refusal:
    return Refusal(
        ok=False, op=op, status=found["status"], problem=found, correlation_id=correlation_id
    )


def _encode(body: Any) -> str:
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    except (RecursionError, ValueError, TypeError) as exc:
        raise BadPayload(problem(400, f"body: cannot be sent on as JSON ({exc})")) from None


def _headers(response: dict[str, Any]) -> dict[str, str]:
    found = {k: str(v) for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if values:
            found[key] = str(values[-1])
    return found


def _body(response: dict[str, Any]) -> Any:
    raw = response.get("body") or ""
    text = base64.b64decode(raw).decode() if response.get("isBase64Encoded") else raw
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _is_problem(body: Any) -> bool:
    return isinstance(body, dict) and {"type", "title", "status", "detail"} <= set(body)
