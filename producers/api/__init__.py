"""The storage-first orders API. ``producers.api.handler`` is the Lambda entry point.

It answers API Gateway (REST v1, HTTP API v2), function URL events and direct Lambda
Invoke payloads (``sluice.rpc``: ``{"op": "place_order", ...}``), all through one set of
routes. It writes to the ``orders`` table and nothing else: the table's stream and the relay
worker turn each write into events.
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from producers.api.app import OrdersApi
from producers.api.problems import ApiProblem
from producers.api.storage import OrdersStore
from producers.operations import OPERATIONS
from sluice.rpc import DirectInvoke
from sluice.runtime import Clients, Settings

ProxyHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

api = OrdersApi()
handler = DirectInvoke(api.handler, OPERATIONS)

__all__ = ["ApiProblem", "OrdersApi", "OrdersStore", "api", "build", "handler"]


def build(clients: Clients, settings: Settings, logger: Logger) -> ProxyHandler:
    """One execution environment of the API on injected clients (what the sandbox runs)."""
    store = OrdersStore(clients.dynamodb, settings.table("orders"))
    return DirectInvoke(OrdersApi(store=store, logger=logger).handler, OPERATIONS)
