"""receipts: write one receipt per placed order (IO-bound; runs records concurrently)."""

from __future__ import annotations

from events import CATALOG, ORDER_PLACED, OrderPlaced
from sluice.core import Envelope, format_time
from sluice.runtime import Deps, worker
from workers._dynamo import Transact, number


def write_receipt(transact: Transact, table: str, event: Envelope[OrderPlaced]) -> None:
    """Store the receipt and count it on the receipt (``issued``).

    No condition guards the write: exactly once is the runtime's job (``transact`` commits
    it with the event's idempotency completion), and ``issued`` would show a second run.
    """
    order = event.data
    fields = {
        "customer_id": {"S": order.customer_id},
        "total_cents": number(order.total_cents),
        "currency": {"S": order.currency},
        "lines": number(len(order.items)),
        "event_id": {"S": event.id},
        "issued_at": {"S": format_time(event.time)},
    }
    update = {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": f"RECEIPT#{order.order_id}"}, "sk": {"S": "RECEIPT"}},
            "UpdateExpression": "SET "
            + ", ".join(f"#{name} = :{name}" for name in fields)
            + " ADD issued :one",
            "ExpressionAttributeNames": {f"#{name}": name for name in fields},
            "ExpressionAttributeValues": {
                **{f":{name}": value for name, value in fields.items()},
                ":one": number(1),
            },
        }
    }
    transact([update])


@worker(
    catalog=CATALOG,
    subscribes=[ORDER_PLACED],
    batch_size=10,
    max_concurrency=10,
    writes=("state",),
    runtime="container",  # IO-bound: one long-lived process per task (`sluice work receipts`)
    min_tasks=1,
    max_tasks=4,
    throughput=50,
    description="Writes a receipt for every placed order.",
)
def receipts(event: Envelope[OrderPlaced], deps: Deps) -> None:
    """Issue the receipt for one order."""
    write_receipt(deps.transact, deps.settings.table("state"), event)


handler = receipts.handler
