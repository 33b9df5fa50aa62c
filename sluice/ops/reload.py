"""``--from-table``: when the stream has dropped the failed records, rebuild them from the table.

The on-failure record names no keys, only a shard, a sequence range and the arrival times
of the first and last record. The items changed in that window are found by their time
attributes (a Scan), and each is re-emitted as the record Lambda would deliver: INSERT if
it was created in the window, MODIFY (old image unknown) if it was changed in it. The
current item may differ from the failed change, and the ids are new (stable across
repeats of the same reload): the CLI says so before it starts.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sluice.ops.messages import StreamBatch
from sluice.runtime.records import DYNAMODB, table_from_arn
from sluice.target import Target

CREATED = "created_at"
CHANGED = ("updated_at", "cancelled_at")
SLACK = timedelta(seconds=2)
"""Arrival times are approximate: widen the window by this much on each side."""


def reload_records(
    target: Target,
    batch: StreamBatch,
    *,
    created: str = CREATED,
    changed: tuple[str, ...] = CHANGED,
) -> list[dict[str, Any]]:
    """Stream-shaped records for the items created or changed in the batch's time window."""
    db = target.clients.dynamodb
    table = table_from_arn(batch.stream_arn)
    keys = [k["AttributeName"] for k in db.describe_table(TableName=table)["Table"]["KeySchema"]]
    start, end = _time(batch.first_arrival) - SLACK, _time(batch.last_arrival) + SLACK
    records: list[dict[str, Any]] = []
    for page in db.get_paginator("scan").paginate(TableName=table):
        for item in page.get("Items", []):
            key = {k: item[k] for k in keys}
            if _within(item.get(created), start, end):
                records.append(_record("INSERT", key, item, batch, target.region))
            if any(_within(item.get(name), start, end) for name in changed):
                records.append(_record("MODIFY", key, item, batch, target.region))
    return records


def _record(
    event: str, key: dict[str, Any], item: dict[str, Any], batch: StreamBatch, region: str
) -> dict[str, Any]:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    sequence = f"reload-{batch.start_sequence}-{event.lower()}-{digest}"
    return {
        "eventID": sequence,
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": DYNAMODB,
        "awsRegion": region,
        "eventSourceARN": batch.stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": datetime.now(UTC).timestamp(),
            "Keys": key,
            "NewImage": item,
            "SequenceNumber": sequence,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def _within(value: Any, start: datetime, end: datetime) -> bool:
    if not isinstance(value, dict) or "S" not in value:
        return False
    try:
        return start <= _time(value["S"]) <= end
    except ValueError:
        return False


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
