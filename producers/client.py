"""The orders API for producers in Python: ``place_order``, ``get_order``, ``cancel_order``.

Internal producers (another team's Lambda, a batch job) call the API function directly with
Lambda Invoke; others sign HTTP requests to the gateway. Both are one constructor away::

    orders = OrdersClient.over_invoke("sluice-api", caller=ROLE_ARN)  # Lambda Invoke (IAM)
    orders = OrdersClient.over_invoke("sluice-api", caller=ROLE_ARN, endpoint_url=...)
    orders = OrdersClient.over_http("https://abc.execute-api.eu-west-1.amazonaws.com/prod")

Over Invoke, ``caller`` is the ARN of the IAM principal the producer calls as: its
idempotency keys are scoped to it (the gateway proves the signer over HTTP; Invoke proves
nothing of who called, so the client says it), and a key sent without it is refused.

A refusal raises the ``sluice.rpc`` error of its status (``InvalidRequestError``,
``NotFoundError``, ``ConflictError``...) with the API's problem attached; throttles are
retried; a crash raises ``FunctionCrashedError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from producers.operations import CANCEL_ORDER, GET_ORDER, OPERATIONS, PLACE_ORDER
from sluice.rpc import ApiClient


class Line(TypedDict):
    """One order line."""

    sku: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """An accepted order: its id, whether this call was a replay of an earlier one."""

    order_id: str
    status: str
    replayed: bool
    correlation_id: str


class OrdersClient:
    """The orders API's operations, typed, over any ``sluice.rpc`` transport."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    @classmethod
    def over_invoke(
        cls, function_name: str, *, caller: str | None = None, **options: Any
    ) -> OrdersClient:
        """Lambda Invoke of the API function as ``caller`` (``ApiClient.over_invoke``'s options)."""
        return cls(ApiClient.over_invoke(function_name, OPERATIONS, caller=caller, **options))

    @classmethod
    def over_http(cls, base_url: str, **options: Any) -> OrdersClient:
        """SigV4-signed HTTP to the API's stage URL (``ApiClient.over_http``'s options)."""
        return cls(ApiClient.over_http(base_url, OPERATIONS, **options))

    def place_order(
        self,
        customer_id: str,
        items: Sequence[Line],
        currency: str = "EUR",
        *,
        idempotency_key: str | None = None,
        correlation_id: str | None = None,
    ) -> PlacedOrder:
        """Place an order; with an idempotency key, a retry returns the same order."""
        body = {"customer_id": customer_id, "items": list(items), "currency": currency}
        done = self.api.call(
            PLACE_ORDER.name,
            body=body,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
        )
        replayed = done["headers"].get("Idempotent-Replayed") == "true"
        return PlacedOrder(
            order_id=done["body"]["id"],
            status=done["body"]["status"],
            replayed=replayed,
            correlation_id=done["correlation_id"],
        )

    def get_order(self, order_id: str, *, correlation_id: str | None = None) -> dict[str, Any]:
        """One order as ``GET /orders/{id}`` shows it."""
        done = self.api.call(
            GET_ORDER.name, params={"order_id": order_id}, correlation_id=correlation_id
        )
        return dict(done["body"])

    def cancel_order(
        self, order_id: str, reason: str | None = None, *, correlation_id: str | None = None
    ) -> dict[str, Any]:
        """Cancel a placed order (``ConflictError`` if it is not placed any more)."""
        reasoned: dict[str, Any] = {} if reason is None else {"body": {"reason": reason}}
        done = self.api.call(
            CANCEL_ORDER.name,
            params={"order_id": order_id},
            correlation_id=correlation_id,
            **reasoned,
        )
        return dict(done["body"])
