"""receipts: write one receipt per placed order (IO-bound; runs records concurrently)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from events import CATALOG, ORDER_PLACED, OrderPlaced
from sluice.core import Envelope, format_time
from sluice.runtime import Deps, worker
from workers._dynamo import Transact, is_condition_failure, number


def write_receipt(transact: Transact, table: str, event: Envelope[OrderPlaced]) -> bool:
    """Store the receipt; False if it was already there (the effect is idempotent)."""
    order = event.data
    put = {
        "Put": {
            "TableName": table,
            "Item": {
                "pk": {"S": f"RECEIPT#{order.order_id}"},
                "sk": {"S": "RECEIPT"},
                "customer_id": {"S": order.customer_id},
                "total_cents": number(order.total_cents),
                "currency": {"S": order.currency},
                "lines": number(len(order.items)),
                "event_id": {"S": event.id},
                "issued_at": {"S": format_time(event.time)},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    try:
        transact([put])
    except ClientError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


@worker(
    catalog=CATALOG,
    subscribes=[ORDER_PLACED],
    batch_size=10,
    max_concurrency=10,
    writes=("state",),
    description="Writes a receipt for every placed order.",
)
def receipts(event: Envelope[OrderPlaced], deps: Deps) -> None:
    """Issue the receipt for one order."""
    write_receipt(deps.transact, deps.settings.table("state"), event)


handler = receipts.handler
