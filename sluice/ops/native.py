"""``--native``: let SQS itself move the messages (StartMessageMoveTask), real AWS only."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from sluice.ops.audit import AuditEntry, AuditLog
from sluice.ops.destinations import resolve
from sluice.ops.dlqs import find, home_queue
from sluice.ops.errors import UnsupportedError
from sluice.ops.replay import ReplayOptions
from sluice.target import Target


def native_move(target: Target, name: str, options: ReplayOptions) -> dict[str, Any]:
    """Start an SQS message move task from the DLQ; returns its task handle."""
    if target.local:
        raise UnsupportedError(
            "--native needs real AWS: the sandbox (moto) has no StartMessageMoveTask; "
            "drop --native to replay message by message"
        )
    if options.filter.active or options.limit is not None or options.dry_run:
        raise UnsupportedError(
            "--native moves the whole DLQ: it cannot filter, stop at --max or dry-run; "
            "drop --native to use those"
        )
    found = find(target, name)
    destination = resolve(target, options.to or home_queue(target, found.dlq))
    if destination.kind != "queue":
        raise UnsupportedError("--native can only move messages to an SQS queue, not a topic")
    sqs = target.clients.sqs
    arn = _arn(sqs, found.url)
    request: dict[str, Any] = {
        "SourceArn": arn,
        "DestinationArn": _arn(sqs, destination.address),
    }
    if options.rate is not None:
        request["MaxNumberOfMessagesPerSecond"] = int(options.rate)
    try:
        handle = sqs.start_message_move_task(**request)["TaskHandle"]
    except ClientError as exc:
        raise UnsupportedError(
            f"SQS refused the move task for {found.dlq.name} "
            f"({exc.response.get('Error', {}).get('Message', exc)}); FIFO DLQs and "
            "cross-account moves have their own limits: drop --native to replay message by message"
        ) from None
    except NotImplementedError:
        raise UnsupportedError("this endpoint has no StartMessageMoveTask; drop --native") from None
    AuditLog.open(target, options.audit_path).record(
        [AuditEntry("native-move", found.dlq.name, destination.name, f"task:{handle}", None)]
    )
    return {"task_handle": handle, "source": found.dlq.name, "destination": destination.name}


def _arn(sqs: Any, url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attrs["QueueArn"])
