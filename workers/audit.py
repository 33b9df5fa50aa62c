"""audit: append every event on the bus to the audit log (no filter policy)."""

from __future__ import annotations

from typing import Any

from events import CATALOG
from sluice.core import Envelope, format_time
from sluice.runtime import Deps, worker
from workers._dynamo import Transact, number


def append_entry(transact: Transact, table: str, event: Envelope[Any]) -> None:
    """One audit entry per event id, counting its writes (``writes``).

    No condition guards the write: exactly once is the runtime's job (``transact`` commits
    it with the event's idempotency completion), and ``writes`` would show a second run.
    """
    transact(
        [
            {
                "Update": {
                    "TableName": table,
                    "Key": {
                        "pk": {"S": f"AUDIT#{event.type}"},
                        "sk": {"S": f"{format_time(event.time)}#{event.id}"},
                    },
                    "UpdateExpression": "SET event_id = :id, correlation_id = :cid, "
                    "#source = :source ADD writes :one",
                    "ExpressionAttributeNames": {"#source": "source"},
                    "ExpressionAttributeValues": {
                        ":id": {"S": event.id},
                        ":cid": {"S": event.correlation_id},
                        ":source": {"S": event.source},
                        ":one": number(1),
                    },
                }
            }
        ]
    )


@worker(
    catalog=CATALOG,
    batch_size=10,
    max_concurrency=10,
    writes=("state",),
    description="Appends every event to the audit log.",
)
def audit(event: Envelope[Any], deps: Deps) -> None:
    """Record one event."""
    append_entry(deps.transact, deps.settings.table("state"), event)


handler = audit.handler
