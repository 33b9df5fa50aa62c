"""stocktake: record each stock audit the nightly schedule requests.

The schedule fires ``stock.audit_requested`` with an envelope id made of its name and its
slot, so a second fire of the same night (a Scheduler retry, a sandbox restart) is
absorbed by idempotency: ``runs`` stays 1 per night.
"""

from __future__ import annotations

from events import CATALOG, STOCK_AUDIT_REQUESTED, StockAuditRequested
from sluice.core import Envelope, format_time
from sluice.runtime import Deps, worker
from workers._dynamo import Transact, number


def audit_key(event: Envelope[StockAuditRequested]) -> dict[str, dict[str, str]]:
    """One item per requested audit: by scope, then by the slot it was fired for."""
    return {"pk": {"S": f"STOCKTAKE#{event.data.scope}"}, "sk": {"S": format_time(event.time)}}


def record_audit(transact: Transact, table: str, event: Envelope[StockAuditRequested]) -> None:
    """Record the audit run; ``runs`` would show a second run of the same slot."""
    transact(
        [
            {
                "Update": {
                    "TableName": table,
                    "Key": audit_key(event),
                    "UpdateExpression": "SET event_id = :id, requested_by = :by ADD runs :one",
                    "ExpressionAttributeValues": {
                        ":id": {"S": event.id},
                        ":by": {"S": event.data.requested_by},
                        ":one": number(1),
                    },
                }
            }
        ]
    )


@worker(
    catalog=CATALOG,
    subscribes=[STOCK_AUDIT_REQUESTED],
    batch_size=10,
    writes=("state",),
    description="Records each stock audit the nightly schedule requests.",
)
def stocktake(event: Envelope[StockAuditRequested], deps: Deps) -> None:
    """Record one requested audit."""
    record_audit(deps.transact, deps.settings.table("state"), event)


handler = stocktake.handler
