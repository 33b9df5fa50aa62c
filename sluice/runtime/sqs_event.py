"""SQS messages as Lambda sees them, and deleting the ones a batch settled.

Shared by every consumer that feeds the engine from ``ReceiveMessage``: the sandbox's
Lambda-style poller and ``sluice work``. Each ``delete_messages`` entry SQS refuses is
retried; one left undeleted comes back after its visibility timeout, never lost.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from typing import Any

from sluice.runtime.types import SqsMessageAttribute, SqsRecord

DELETE_ATTEMPTS = 3
LONG_POLL_MAX_S = 20
"""The longest SQS holds a ReceiveMessage (``WaitTimeSeconds``) for messages to arrive."""
RECEIVE_READ_TIMEOUT_S = LONG_POLL_MAX_S + 10
"""An SQS client's read timeout: longer than any long poll, so an idle receive answers
empty instead of timing out."""
RECEIVE_ATTRIBUTES: dict[str, Any] = {
    "AttributeNames": ["All"],
    "MessageAttributeNames": ["All"],
}
"""What every receive asks for: the engine reads receive counts, timestamps and groups."""


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> SqsRecord:
    """A ReceiveMessage message -> a Lambda SQS event record."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: lambda_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def queue_arn_of(queue_url: str, region: str) -> str:
    """``https://host/<account>/<name>`` -> the queue's ARN."""
    account, name = queue_url.split("/")[-2:]
    return f"arn:aws:sqs:{region}:{account}:{name}"


def lambda_attribute(value: dict[str, Any]) -> SqsMessageAttribute:
    """ReceiveMessage's attribute shape -> Lambda's lower-camel one."""
    out: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return out  # type: ignore[return-value]


def correlation_of(record: SqsRecord) -> str:
    """The correlation id: the message attribute, else the envelope's field, else "-".

    It names a record in log lines before anything checks its body, so it never raises: a
    body no parser reads (``[`` x 100 000 is a RecursionError, a 5000-digit number a
    ValueError) has no correlation id, and the engine says what is wrong with it.
    """
    try:
        return _correlation(record) or "-"
    except Exception:
        return "-"


def _correlation(record: SqsRecord) -> str:
    attribute = record["messageAttributes"].get("correlation_id", {}).get("stringValue")
    if attribute:
        return str(attribute)
    # Any body that is not what is read here raises, and correlation_of names it "-".
    doc = json.loads(record["body"])
    if doc.get("Type") == "Notification":
        doc = json.loads(doc["Message"])
    return str(doc.get("correlation_id") or "")


def delete_messages(sqs: Any, queue_url: str, records: Sequence[SqsRecord]) -> list[SqsRecord]:
    """Delete ``records``, ten per call, retrying refused entries; returns those left."""
    left: list[SqsRecord] = []
    for start in range(0, len(records), 10):
        chunk = {str(i): r for i, r in enumerate(records[start : start + 10])}
        for attempt in range(DELETE_ATTEMPTS):
            answer = sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": k, "ReceiptHandle": r["receiptHandle"]} for k, r in chunk.items()],
            )
            chunk = {f["Id"]: chunk[f["Id"]] for f in answer.get("Failed", [])}
            if not chunk:
                break
            time.sleep(0.05 * 2**attempt)
        left += chunk.values()
    return left


def change_visibility(sqs: Any, queue_url: str, handles: Sequence[str], seconds: int) -> int:
    """Set the visibility of messages by receipt handle; returns how many SQS accepted."""
    accepted = 0
    for start in range(0, len(handles), 10):
        answer = sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": seconds}
                for i, h in enumerate(handles[start : start + 10])
            ],
        )
        accepted += len(answer.get("Successful", []))
    return accepted
