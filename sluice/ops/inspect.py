"""Look without touching: list every DLQ with depth and age, and peek at messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from sluice.ops.dlqs import find
from sluice.ops.failure_bucket import FailureBucket, own_bucket
from sluice.ops.failure_objects import FailureObjectError, fetch, replay_window
from sluice.ops.messages import DlqMessage, stream_json
from sluice.ops.scan import Scanner
from sluice.target import Target
from sluice.topology import DlqKind

PEEK_HOLD_S = 10
_AGE_METRIC = "ApproximateAgeOfOldestMessage"


def list_dlqs(target: Target) -> list[dict[str, Any]]:
    """Every DLQ the registry declares: kind, worker, source, depth and oldest message age."""
    rows = []
    registry = target.topology.registry
    for dlq in target.topology.dlqs():
        row: dict[str, Any] = {
            "name": dlq.name,
            "kind": dlq.kind.value,
            "worker": dlq.worker,
            "runtime": (  # a schedule's DLQ is fed by EventBridge Scheduler, not a worker
                "scheduler"
                if dlq.kind is DlqKind.SCHEDULE
                else registry.get(dlq.worker).spec.runtime.value
            ),
            "source": dlq.source,
            "fifo": dlq.fifo,
            "depth": None,
            "in_flight": None,
            "oldest_age_s": None,
            "exists": True,
            "replayable_s": None,
            "replayable_via": None,
            "replayable_basis": None,
            "failure_bucket": None,
        }
        try:
            url = target.clients.sqs.get_queue_url(QueueName=dlq.name)["QueueUrl"]
        except ClientError:
            row["exists"] = False
            rows.append(row)
            continue
        attrs = target.clients.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        row["depth"] = int(attrs.get("ApproximateNumberOfMessages", 0))
        row["in_flight"] = int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
        if row["depth"] or row["in_flight"]:
            row["oldest_age_s"] = _cloudwatch_age(target, dlq.name)
        if dlq.kind is DlqKind.STREAM_FAILURE:
            s3 = target.clients.client("s3")
            row.update(replay_window(target.clients.sqs, s3, url).to_json())
        rows.append(row)
    return rows


def show(target: Target, name: str, limit: int = 10) -> list[dict[str, Any]]:
    """Decode up to ``limit`` messages; every one is visible again when this returns.

    An S3 notification on a stream failure queue is shown as the failure it names: the
    object is read for its batch info and record count, if it is in the stack's own
    failure bucket (``failure_bucket``); any other notice is shown refused, unread.
    """
    found = find(target, name)
    s3 = target.clients.client("s3")
    trusted = own_bucket(target.clients.sqs, found.url, found.dlq.name)
    with Scanner(target.clients.sqs, found.url, hold_s=PEEK_HOLD_S) as scan:
        return [_describe(s3, trusted, m) for batch in scan.batches(limit) for m in batch]


def _describe(s3: Any, trusted: FailureBucket, message: DlqMessage) -> dict[str, Any]:
    row = message.describe()
    if message.notice is None or not message.notice.objects:
        return row
    source = message.notice.objects[0]
    named: dict[str, Any] = {"bucket": source.bucket, "key": source.key, "found": False}
    row["failure_object"] = named
    refusal = trusted.refusal(message.notice)
    if refusal is not None:
        row["problem"] = f"refused: {refusal}"
        return row
    try:
        record = fetch(s3, source, trusted.account)
    except FailureObjectError as exc:
        row["problem"] = str(exc)
    else:
        named["found"] = True
        held = None if record.records is None else len(record.records)
        row["stream"] = stream_json(record.batch, held)
        row["problem"] = None if held is not None else f"{source.uri}: {record.why_not}"
    return row


def _cloudwatch_age(target: Target, name: str) -> float | None:
    """CloudWatch's ApproximateAgeOfOldestMessage, never a receive: receiving a message to
    read its age would raise its receive count and set its first-receive time. The sandbox's
    CloudWatch answers it too (``sluice.local.sqs_metrics``)."""
    now = datetime.now(UTC)
    points = (
        target.clients.client("cloudwatch")
        .get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName=_AGE_METRIC,
            Dimensions=[{"Name": "QueueName", "Value": name}],
            StartTime=now - timedelta(minutes=15),
            EndTime=now,
            Period=300,
            Statistics=["Maximum"],
        )
        .get("Datapoints", [])
    )
    if not points:
        return None
    latest = max(points, key=lambda p: p["Timestamp"])
    return float(latest["Maximum"])
