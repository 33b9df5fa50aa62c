"""What the work app's workers do to the ``effects`` table, so tests can count it."""

from __future__ import annotations

from typing import Any

from sluice.runtime import Deps


def started(deps: Deps, job: str) -> None:
    """Count one start of ``job`` (not idempotent on purpose: it counts copies that ran)."""
    deps.clients.dynamodb.update_item(
        TableName=deps.settings.table("effects"),
        Key={"pk": {"S": f"start#{job}"}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


def applied(deps: Deps, key: str, update: str, values: dict[str, Any]) -> None:
    """The job's effect, committed atomically with its idempotency completion."""
    deps.transact(
        [
            {
                "Update": {
                    "TableName": deps.settings.table("effects"),
                    "Key": {"pk": {"S": key}},
                    "UpdateExpression": update,
                    "ExpressionAttributeValues": values,
                }
            }
        ]
    )
