"""audit: append every event on the bus to the audit log (no filter policy)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from events import CATALOG
from sluice.core import Envelope, format_time
from sluice.runtime import Deps, worker
from workers._dynamo import Transact, is_condition_failure


def append_entry(transact: Transact, table: str, event: Envelope[Any]) -> None:
    """One audit entry per event id; a second write of the same id changes nothing."""
    put = {
        "Put": {
            "TableName": table,
            "Item": {
                "pk": {"S": f"AUDIT#{event.type}"},
                "sk": {"S": f"{format_time(event.time)}#{event.id}"},
                "event_id": {"S": event.id},
                "correlation_id": {"S": event.correlation_id},
                "source": {"S": event.source},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    try:
        transact([put])
    except ClientError as exc:
        if not is_condition_failure(exc):
            raise


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
