"""The Lambda entry: pick the resolver for the payload version and resolve the request."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    Response,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

from producers.api.problems import ApiProblem, MethodNotAllowed, NotFound
from producers.api.routes import ROUTES, Request, allowed_methods, problem
from producers.api.storage import OrdersStore
from producers.api.validation import correlation_id
from sluice.runtime import Clients, Settings

SERVICE = "orders-api"


def _mount(resolver: ApiGatewayResolver, request: Callable[[], Request]) -> ApiGatewayResolver:
    """Register every route, the 404/405 answers and the problem handlers on ``resolver``."""
    for method, rule, fn in ROUTES:
        resolver.route(rule, method)(_bind(fn, request))

    @resolver.not_found
    def _no_route(_: Exception) -> Response[str]:
        path = resolver.current_event.path
        allowed = allowed_methods(path)
        method = resolver.current_event.http_method.upper()
        if not allowed:
            raise NotFound(f"no route {method} {path}; routes: {_listing()}")
        raise MethodNotAllowed(
            f"{method} is not allowed on {path}; use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )

    def _refused(exc: ApiProblem) -> Response[str]:
        return problem(exc, str(resolver.context.get("correlation_id") or uuid.uuid4()))

    def _crashed(exc: Exception) -> Response[str]:
        log: Logger = resolver.context["logger"]
        log.exception("request failed", extra={"error": type(exc).__name__})
        cid = str(resolver.context.get("correlation_id") or uuid.uuid4())
        return problem(ApiProblem("the request could not be completed; retry it"), cid)

    hub: Any = resolver  # Powertools leaves exception_handler untyped
    hub.exception_handler(ApiProblem)(_refused)
    hub.exception_handler(Exception)(_crashed)
    return resolver


def _bind(fn: Callable[..., Response[str]], request: Callable[[], Request]) -> Callable[..., Any]:
    def route(**params: str) -> Response[str]:
        return fn(request(), **params)

    route.__name__ = fn.__name__
    return route


def _listing() -> str:
    return ", ".join(f"{method} {rule}" for method, rule, _ in ROUTES)


class OrdersApi:
    """The orders API for REST (v1) and HTTP API (v2) events; the store is built on first use."""

    def __init__(self, store: OrdersStore | None = None, logger: Logger | None = None) -> None:
        self._store = store
        self.logger = logger or Logger(service=SERVICE)
        self.rest = _mount(APIGatewayRestResolver(), lambda: self._request(self.rest))
        self.http = _mount(APIGatewayHttpResolver(), lambda: self._request(self.http))

    @property
    def store(self) -> OrdersStore:
        """The orders table, from ``SLUICE_ORDERS_TABLE`` unless one was injected."""
        if self._store is None:
            self._store = OrdersStore(Clients().dynamodb, Settings.from_env().table("orders"))
        return self._store

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Lambda entry point for both payload versions."""
        resolver = self.http if event.get("version") == "2.0" else self.rest
        headers = event.get("headers") or {}
        refusal: ApiProblem | None = None
        try:
            cid = correlation_id(headers)
        except ApiProblem as exc:
            cid, refusal = str(uuid.uuid4()), exc
        hub: Any = resolver
        hub.append_context(correlation_id=cid, refusal=refusal, logger=self.logger)
        self.logger.append_keys(correlation_id=cid)
        try:
            return resolver.resolve(event, context)
        finally:
            self.logger.remove_keys(["correlation_id"])

    def _request(self, resolver: ApiGatewayResolver) -> Request:
        refusal = resolver.context.get("refusal")
        if refusal is not None:
            raise refusal
        return Request(
            event=resolver.current_event.raw_event,
            headers=resolver.current_event.headers,
            store=self.store,
            correlation_id=resolver.context["correlation_id"],
            logger=self.logger,
        )
