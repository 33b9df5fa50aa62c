"""The direct-invoke payload that stands for an HTTP request, where one can.

A payload names an operation and carries JSON; a request that no operation matches, or
whose body is not JSON sent as JSON, has no payload (the reason is returned instead). It
claims the caller the gateway samples prove, so both ways share one key space.
"""

from __future__ import annotations

import json
import re
from typing import Any

from producers.operations import OPERATIONS
from sluice.rpc import Payload
from tests.factories import sample

CALLER: str = sample("apigw_rest_v1")["requestContext"]["identity"]["userArn"]
"""The caller the gateway samples (v1 and v2) prove: alice."""


def as_payload(method: str, path: str, text: str | None, headers: dict[str, str]) -> Payload | str:
    """The payload for ``method path`` with ``text`` and ``headers``, or why there is none."""
    for op in OPERATIONS.operations:
        pattern = re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", op.path)
        found = re.fullmatch(pattern, path)
        if op.method == method and found:
            break
    else:
        return "no operation is this method and path (a payload names an operation)"
    payload: Payload = {"op": op.name, "caller": CALLER}
    if found.groupdict():
        payload["params"] = found.groupdict()
    lower = {k.lower(): v for k, v in headers.items()}
    if text:
        if lower.get("content-type") != "application/json":
            return "a payload's body is always JSON (no media type to get wrong)"
        try:
            payload["body"] = json.loads(text)
        except (ValueError, RecursionError):
            return "a payload's body is always JSON (it cannot hold malformed text)"
    elif text is not None:
        return "a payload's body is always JSON (it cannot hold an empty text)"
    if "idempotency-key" in lower:
        payload["idempotency_key"] = lower["idempotency-key"]
    if "x-correlation-id" in lower:
        payload["correlation_id"] = lower["x-correlation-id"]
    return payload


def http_problem(answer: dict[str, Any]) -> Any:
    """The problem document of an HTTP proxy response."""
    return json.loads(answer["body"])


def compact(body: Any) -> str:
    """A JSON body as the API function receives it from a payload (compact, UTF-8)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
