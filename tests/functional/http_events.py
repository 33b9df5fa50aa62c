"""API Gateway proxy events (REST v1 and HTTP API v2) built from the samples, and answers."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.factories import sample

VERSIONS = ("v1", "v2")
JSON = {"Content-Type": "application/json"}


def api_event(
    version: str,
    method: str,
    path: str,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A proxy event for ``method path`` in payload format 1.0 (v1) or 2.0 (v2)."""
    event = sample("apigw_rest_v1" if version == "v1" else "apigw_http_v2")
    given = dict(headers or {})
    encoded = isinstance(body, bytes)
    text = base64.b64encode(body).decode() if isinstance(body, bytes) else body
    if version == "v1":
        event.update(
            httpMethod=method,
            path=path,
            resource=path,
            headers=given,
            multiValueHeaders={k: [v] for k, v in given.items()},
        )
        event["requestContext"].update(httpMethod=method, resourcePath=path, path=f"/prod{path}")
    else:
        event.update(
            routeKey=f"{method} {path}",
            rawPath=path,
            headers={k.lower(): v for k, v in given.items()},
        )
        event["requestContext"]["http"].update(method=method, path=path)
        event["requestContext"]["routeKey"] = f"{method} {path}"
    event.update(body=text, isBase64Encoded=encoded)
    return event


def header(response: dict[str, Any], name: str) -> str | None:
    """A response header from either answer format (v1 multiValueHeaders, v2 headers)."""
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return str(values[0])
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def body(response: dict[str, Any]) -> Any:
    """The response body, parsed."""
    return json.loads(response["body"])


def order_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /orders`` body."""
    doc: dict[str, Any] = {
        "customer_id": "cust-42",
        "items": [
            {"sku": "SKU-RED-MUG", "quantity": 2, "unit_price_cents": 1250},
            {"sku": "SKU-BLUE-CAP", "quantity": 1, "unit_price_cents": 1999},
        ],
        "currency": "EUR",
    }
    doc.update(overrides)
    return doc
