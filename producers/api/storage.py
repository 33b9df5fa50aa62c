"""The orders table, as the API uses it: conditional writes only, so nothing is half done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from producers.api.problems import Conflict, NotFound
from producers.api.validation import IDEMPOTENCY_HEADER, OrderRequest
from producers.orders import CANCELLED, PLACED, now_text, order_item, order_view

_CONDITION_FAILED = "ConditionalCheckFailedException"
_deserializer = TypeDeserializer()


@dataclass(frozen=True, slots=True)
class Placed:
    """The answer to a place request: the order id, and whether it is a replay."""

    order_id: str
    replayed: bool


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _old_item(exc: ClientError) -> dict[str, Any]:
    """The item as it was, returned by a failed condition (ALL_OLD)."""
    return cast(dict[str, Any], exc.response.get("Item") or {})


def _condition_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED)


class OrdersStore:
    """Place, read and cancel orders in one DynamoDB table (client injected)."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self.db = dynamodb
        self.table = table

    def place(self, request: OrderRequest, correlation_id: str) -> Placed:
        """Create the order item unless it exists; a same-key, same-body retry is a replay."""
        order_id = request.order.order_id
        item = order_item(
            request.order,
            correlation_id=correlation_id,
            created_at=now_text(),
            request_hash=request.request_hash,
            idempotency_key=request.idempotency_key,
        )
        try:
            self.db.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            earlier = _old_item(exc)
            same = earlier.get("request_hash", {}).get("S") == request.request_hash
            if request.idempotency_key is None:
                raise Conflict(f"order id {order_id} is taken; send the request again") from None
            if same:
                return Placed(order_id, replayed=True)
            raise Conflict(
                f"{IDEMPOTENCY_HEADER} {request.idempotency_key!r} was already used for order "
                f"{order_id} with a different body; use a new key for a new order"
            ) from None
        return Placed(order_id, replayed=False)

    def get(self, order_id: str) -> dict[str, Any]:
        """The public view of one order."""
        found = self.db.get_item(
            TableName=self.table, Key={"id": {"S": order_id}}, ConsistentRead=True
        )
        if "Item" not in found:
            raise NotFound(f"no order {order_id!r}")
        return order_view(_plain(found["Item"]))

    def cancel(self, order_id: str, reason: str | None) -> dict[str, Any]:
        """Move a placed order to CANCELLED, or say why it cannot be."""
        values: dict[str, Any] = {
            ":cancelled": {"S": CANCELLED},
            ":placed": {"S": PLACED},
            ":now": {"S": now_text()},
        }
        update = "SET #status = :cancelled, cancelled_at = :now"
        if reason is not None:
            update += ", cancel_reason = :reason"
            values[":reason"] = {"S": reason}
        try:
            answer = self.db.update_item(
                TableName=self.table,
                Key={"id": {"S": order_id}},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(id) AND #status = :placed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            earlier = _old_item(exc)
            if not earlier:
                raise NotFound(f"no order {order_id!r}") from None
            status = earlier.get("status", {}).get("S")
            raise Conflict(
                f"order {order_id} is already {status}; only {PLACED} orders can be cancelled"
            ) from None
        return order_view(_plain(answer["Attributes"]))
