"""Proxy events: telling one from a direct payload, and refusing one no gateway would send.

API Gateway (REST v1, HTTP API v2) and function URLs only send whole events. A proxy-shaped
event that is not whole was written by hand and sent with Lambda Invoke: it is refused with
a 400 problem (in a proxy response, the shape its sender chose) instead of reaching the
routes to crash on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sluice.rpc.operations import kind

Check = Callable[[Any], str | None]
Fields = Mapping[str, tuple[bool, Check]]
"""Field name -> (required, check); a check answers what is wrong, or None."""


def is_proxy_event(event: Any) -> bool:
    """An API Gateway (v1/v2) or function URL event, as opposed to a direct payload."""
    return (
        isinstance(event, dict)
        and isinstance(event.get("requestContext"), dict)
        and ("httpMethod" in event or "routeKey" in event)
    )


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return None
    return f"must be a non-empty string, got {kind(value)}"


def _path(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("/"):
        return None
    return f"must be a string starting with '/', got {kind(value)}"


def _object(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"must be an object, got {kind(value)}"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be a boolean, got {kind(value)}"


def _optional_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return None
    return f"must be a string or null, got {kind(value)}"


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(s, str) for s in value)


def _texts(value: Any) -> str | None:
    """Null, or an object of strings (headers, query string, path parameters)."""
    return _map_of(value, lambda v: isinstance(v, str), "strings")


def _lists(value: Any) -> str | None:
    """Null, or an object of arrays of strings (the multi-value forms)."""
    return _map_of(value, _strings, "arrays of strings")


def _map_of(value: Any, good: Callable[[Any], bool], what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"must be an object or null, got {kind(value)}"
    odd = sorted(name for name, v in value.items() if not good(v))
    if not odd:
        return None
    more = f" (and {len(odd) - 1} more)" if len(odd) > 1 else ""
    return f"must hold {what} only; {odd[0][:60]!r} holds {kind(value[odd[0]])}{more}"


def _cookies(value: Any) -> str | None:
    if value is None or _strings(value):
        return None
    return f"must be an array of strings or null, got {kind(value)}"


_COMMON: dict[str, tuple[bool, Check]] = {
    "headers": (False, _texts),
    "queryStringParameters": (False, _texts),
    "pathParameters": (False, _texts),
    "stageVariables": (False, _texts),
    "body": (False, _optional_text),
    "isBase64Encoded": (False, _flag),
}
REST: Fields = {
    "httpMethod": (True, _text),
    "path": (True, _path),
    "multiValueHeaders": (False, _lists),
    "multiValueQueryStringParameters": (False, _lists),
    **_COMMON,
}
"""A REST (payload format 1.0) event: what the routes read of it."""
HTTP: Fields = {
    "routeKey": (True, _text),
    "rawPath": (True, _path),
    "rawQueryString": (False, _optional_text),
    "cookies": (False, _cookies),
    **_COMMON,
}
"""An HTTP API or function URL (payload format 2.0) event: what the routes read of it."""
HTTP_CONTEXT: Fields = {"stage": (True, _text), "http": (True, _object)}
HTTP_REQUEST: Fields = {"method": (True, _text)}


def _problems(doc: Mapping[str, Any], fields: Fields, at: str = "") -> list[str]:
    found = []
    for name, (required, check) in fields.items():
        if name not in doc:
            found += [f"{at}{name}: required"] if required else []
            continue
        wrong = check(doc[name])
        found += [f"{at}{name}: {wrong}"] if wrong else []
    return found


def malformed(event: dict[str, Any]) -> str | None:
    """What makes a proxy-shaped event one no gateway sends, or None if it is whole."""
    if event.get("version") == "2.0":
        context = event["requestContext"]
        problems = _problems(event, HTTP) + _problems(context, HTTP_CONTEXT, "requestContext.")
        if isinstance(context.get("http"), dict):
            problems += _problems(context["http"], HTTP_REQUEST, "requestContext.http.")
        shape = "an HTTP API (v2) or function URL event"
    else:
        problems = _problems(event, REST)
        shape = 'a REST (v1) proxy event (a v2 one has "version": "2.0")'
    if not problems:
        return None
    return (
        f"{'; '.join(problems)}. This is not {shape} as a gateway sends it: send a whole "
        'proxy event, or a direct payload ({"op": ...})'
    )
