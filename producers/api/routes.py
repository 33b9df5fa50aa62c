"""The three routes, as plain functions of a ``Request``; ``app`` mounts them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response

from producers.api.problems import PROBLEM_JSON, ApiProblem
from producers.api.storage import OrdersStore
from producers.api.validation import CORRELATION_HEADER, cancel_reason, order_request
from producers.operations import OPERATIONS
from producers.orders import PLACED


@dataclass(frozen=True, slots=True)
class Request:
    """What a route needs: the raw event, its headers, the store, the correlation id."""

    event: Mapping[str, Any]
    headers: Mapping[str, str]
    store: OrdersStore
    correlation_id: str
    logger: Logger


def reply(
    status: int,
    body: dict[str, Any],
    correlation_id: str,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Response[str]:
    """A JSON response that echoes the correlation id."""
    return Response(
        status_code=status,
        content_type=content_type,
        body=json.dumps(body, separators=(",", ":")),
        headers={CORRELATION_HEADER: correlation_id, **(headers or {})},
    )


def problem(exc: ApiProblem, correlation_id: str) -> Response[str]:
    """A problem-details response."""
    return reply(exc.status, exc.body(), correlation_id, exc.headers, PROBLEM_JSON)


def place_order(request: Request) -> Response[str]:
    """POST /orders: store the order; the stream does the rest."""
    order = order_request(request.event, request.headers)
    placed = request.store.place(order, request.correlation_id)
    request.logger.info(
        "order placed",
        extra={"order_id": placed.order_id, "replayed": placed.replayed},
    )
    headers = {"Location": f"/orders/{placed.order_id}"}
    if placed.replayed:
        headers["Idempotent-Replayed"] = "true"
    body = {"id": placed.order_id, "status": PLACED}
    return reply(202, body, request.correlation_id, headers)


def get_order(request: Request, order_id: str) -> Response[str]:
    """GET /orders/{id}."""
    return reply(200, request.store.get(order_id), request.correlation_id)


def cancel_order(request: Request, order_id: str) -> Response[str]:
    """POST /orders/{id}/cancel: PLACED -> CANCELLED, once."""
    reason = cancel_reason(request.event, request.headers)
    view = request.store.cancel(order_id, reason)
    request.logger.info("order cancelled", extra={"order_id": order_id})
    return reply(200, view, request.correlation_id)


Route = tuple[str, str, Callable[..., Response[str]]]
_FUNCTIONS = {fn.__name__: fn for fn in (place_order, get_order, cancel_order)}
ROUTES: tuple[Route, ...] = tuple(
    (op.method, op.path, _FUNCTIONS[op.name]) for op in OPERATIONS.operations
)


def allowed_methods(path: str) -> list[str]:
    """The methods some route accepts for ``path`` (empty: no such route)."""
    return sorted(
        {
            method
            for method, rule, _ in ROUTES
            if re.fullmatch(re.sub(r"<\w+>", "[^/]+", rule), path.rstrip("/") or "/")
        }
    )
