"""Read a request: headers, size, media type, JSON, and the ``order.placed`` contract."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from events import MAX_LINES, OrderPlaced
from producers.api.problems import (
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from sluice.core import MalformedJsonError, PayloadError, json_type, load, parse_json
from sluice.rpc import caller_of

MAX_BODY_BYTES = 256 * 1024
MAX_REASON = 500
IDEMPOTENCY_HEADER = "Idempotency-Key"
CORRELATION_HEADER = "X-Correlation-Id"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_CORRELATION = re.compile(r"[A-Za-z0-9._:/@+=-]{1,128}")
LONE_SURROGATE = "the body holds a lone surrogate escape (e.g. \\ud800), which is no Unicode text"
_ORDER_IDS = uuid.UUID("0bd3e5a1-7f6c-4b8e-9a52-5e1a1ce0a11d")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A valid ``POST /orders``: the order (with its id) and what idempotency needs."""

    order: OrderPlaced
    request_hash: str
    idempotency_key: str | None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value (case-insensitive), or None."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def correlation_id(headers: Mapping[str, str]) -> str:
    """The caller's X-Correlation-Id, or a new one."""
    given = header(headers, CORRELATION_HEADER)
    if given is None:
        return str(uuid.uuid4())
    if not _CORRELATION.fullmatch(given):
        raise InvalidRequest(
            f"{CORRELATION_HEADER} must be 1-128 characters of letters, digits and ._:/@+=-, "
            f"got {given[:40]!r}"
        )
    return given


def body_bytes(event: Mapping[str, Any]) -> bytes:
    """The raw body (base64 decoded if API Gateway encoded it), refusing oversize ones."""
    body = event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body
    except binascii.Error:
        raise InvalidRequest("the body is marked base64 but is not valid base64") from None
    try:
        data = raw if isinstance(raw, bytes) else raw.encode()
    except UnicodeEncodeError:  # text handed over by Lambda Invoke, from a \ud800 escape
        raise InvalidRequest(LONE_SURROGATE) from None
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"the body is {len(data)} bytes; the limit is {MAX_BODY_BYTES} bytes (256 KiB)"
        )
    return data


def json_document(event: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
    """The body parsed as JSON, after its size and media type are checked."""
    data = body_bytes(event)
    media = (header(headers, "Content-Type") or "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the body as application/json; Content-Type was {media or 'missing'!r}"
        )
    if not data.strip():
        raise InvalidRequest("the body is empty; send a JSON object")
    try:
        doc = parse_json(data)
    except MalformedJsonError as exc:
        raise InvalidRequest(exc.detail) from None
    except Exception as exc:  # whatever bytes: deep nesting, 5000-digit numbers... are a 400
        raise InvalidRequest(f"body is not JSON this API can read: {_cause(exc)}") from None
    try:
        json.dumps(doc, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise InvalidRequest(LONE_SURROGATE) from None
    return doc


def _cause(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


def order_request(event: Mapping[str, Any], headers: Mapping[str, str]) -> OrderRequest:
    """Validate ``POST /orders`` against the ``order.placed`` contract, every problem named."""
    key = header(headers, IDEMPOTENCY_HEADER)
    if key is not None and not _KEY.fullmatch(key):
        raise InvalidRequest(
            f"{IDEMPOTENCY_HEADER} must be 1-255 visible ASCII characters, got {key[:40]!r}"
        )
    doc = json_document(event, headers)
    if not isinstance(doc, dict):
        raise InvalidRequest(f"the body must be a JSON object, got {json_type(doc)}")
    problems = ["order_id: unknown field; the API assigns order ids"] if "order_id" in doc else []
    order_id = order_id_for(key, caller_of(event))
    try:
        order = load(OrderPlaced, {**doc, "order_id": order_id}, path="body")
    except PayloadError as exc:
        problems += [_explained(p.removeprefix("body.")) for p in exc.problems]
    if problems:
        raise InvalidRequest("; ".join(problems))
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return OrderRequest(order=order, request_hash=digest, idempotency_key=key)


def _explained(problem: str) -> str:
    """A problem, with the reason behind a limit that is not obvious from the contract."""
    if problem.startswith(f"items: must have at most {MAX_LINES} "):
        return (
            f"{problem} (the order's stock is reserved in one DynamoDB transaction: one "
            "update per distinct SKU plus the order's completion, at most 100 items)"
        )
    return problem


def order_id_for(idempotency_key: str | None, caller_id: str | None = None) -> str:
    """A new order id; derived from the caller's Idempotency-Key, so a retry hits the same item.

    Keys are scoped to the caller (``sluice.rpc.identity``: proven over HTTP, asserted, and
    required with a key, over Lambda Invoke): two callers using the same key get two orders,
    and neither learns of the other's. A request naming no caller (only an API without auth
    has one, such as the sandbox's HTTP front) is in the anonymous space, ``-``.
    """
    if idempotency_key is None:
        return f"ord-{uuid.uuid4().hex}"
    scoped = f"{caller_id or '-'}|{idempotency_key}"
    return f"ord-{uuid.uuid5(_ORDER_IDS, scoped).hex}"


def cancel_reason(event: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The optional ``{"reason": "..."}`` body of a cancel request."""
    if not body_bytes(event).strip():
        return None
    doc = json_document(event, headers)
    if not isinstance(doc, dict):
        raise InvalidRequest(f"the body must be a JSON object, got {json_type(doc)}")
    problems = [f"{name}: unknown field" for name in sorted(set(doc) - {"reason"})]
    reason = doc.get("reason")
    if reason is not None and (not isinstance(reason, str) or not 1 <= len(reason) <= MAX_REASON):
        problems.append(f"reason: must be a string of 1 to {MAX_REASON} characters")
    if problems:
        raise InvalidRequest("; ".join(problems))
    return reason
