"""inventory: reserve stock for placed orders, release it for cancelled ones.

Each SKU's stock item counts ``reserved`` units and how many reservations and releases
were applied, so a test can prove every event took effect exactly once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from events import CATALOG, ORDER_CANCELLED, ORDER_PLACED, LineItem
from sluice.core import Envelope
from sluice.runtime import Deps, RetryableError, worker
from workers._dynamo import Transact, is_condition_failure, number


def stock_key(sku: str) -> dict[str, Any]:
    """The key of one SKU's stock item in the state table."""
    return {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "STOCK"}}


def adjust_stock(
    transact: Transact, table: str, items: Iterable[LineItem], *, release: bool
) -> None:
    """Reserve (or release) every line of an order in one transaction: all lines or none."""
    per_sku = Counter[str]()
    for item in items:
        per_sku[item.sku] += item.quantity
    writes = []
    for sku, quantity in sorted(per_sku.items()):
        update: dict[str, Any] = {
            "TableName": table,
            "Key": stock_key(sku),
            "UpdateExpression": "ADD reserved :q, #count :one",
            "ExpressionAttributeNames": {"#count": "releases" if release else "reservations"},
            "ExpressionAttributeValues": {
                ":q": number(-quantity if release else quantity),
                ":one": number(1),
            },
        }
        if release:
            update["ConditionExpression"] = "reserved >= :need"
            update["ExpressionAttributeValues"][":need"] = number(quantity)
        writes.append({"Update": update})
    try:
        transact(writes)
    except ClientError as exc:
        if release and is_condition_failure(exc):
            # The cancel overtook its order on the queue: retry until the reservation lands.
            raise RetryableError("release before reservation; retrying later") from exc
        raise


@worker(
    catalog=CATALOG,
    subscribes=[ORDER_PLACED, ORDER_CANCELLED],
    batch_size=10,
    max_concurrency=10,
    writes=("state",),
    transact_only=True,
    description="Reserves stock for placed orders and releases it for cancelled ones.",
)
def inventory(event: Envelope[Any], deps: Deps) -> None:
    """Apply one order event to stock."""
    adjust_stock(
        deps.transact,
        deps.settings.table("state"),
        event.data.items,
        release=event.type == ORDER_CANCELLED,
    )


handler = inventory.handler
