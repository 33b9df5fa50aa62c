"""Stream failure records kept in S3: fetch one, and how long a failure queue's stay replayable.

Lambda writes a stream mapping's on-failure record to an S3 destination as the whole
invocation record: the metadata an SQS destination gets (``requestContext``,
``responseContext``, ``DDBStreamBatchInfo``...) plus ``payload``, the event the function was
invoked with as an escaped JSON string, under the key
``aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>`` (AWS Lambda
Developer Guide, "Retain discarded records for a DynamoDB event source in Lambda", example
Amazon S3 invocation record). The payload's records in the batch's sequence range are the
failed records exactly as they were, whatever the table or the stream hold now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from sluice.core import parse_json
from sluice.ops.messages import StreamBatch, batch_info
from sluice.ops.s3_notices import FailureObject
from sluice.topology import STREAM_FAILURE_RETENTION_DAYS

STREAM_RETENTION_S = 24 * 3600
"""DynamoDB Streams keep a record for 24 hours: a metadata-only failure's replay window."""
_DAY_S = 24 * 3600
_LAMBDA_PREFIX = "aws/lambda/"
_GONE = ("NoSuchKey", "NoSuchBucket", "404")


class FailureObjectError(Exception):
    """A failure record in S3 cannot be used; the message that names it stays in the queue."""


class ObjectGoneError(FailureObjectError):
    """The object no longer exists (its bucket's lifecycle expired it, or it was deleted)."""


class BadObjectError(FailureObjectError):
    """The object is not a stream invocation record."""


@dataclass(frozen=True, slots=True)
class InvocationRecord:
    """A failure record read from S3: the batch info, and the failed records if it holds them."""

    source: FailureObject
    batch: StreamBatch
    metadata: dict[str, Any]
    """The record without its payload: the shape a metadata-only on-failure record has."""
    records: list[dict[str, Any]] | None
    """The failed batch's records (the payload's, in the sequence range), or None if the
    payload is missing or does not hold every one of them."""
    why_not: str | None = None
    """Why ``records`` is None."""


def fetch(s3: Any, source: FailureObject, owner: str | None = None) -> InvocationRecord:
    """Read and decode one failure record; ObjectGoneError or BadObjectError if it cannot be.

    With ``owner``, S3 answers AccessDenied unless that account owns the bucket.
    """
    checked = {"ExpectedBucketOwner": owner} if owner else {}
    try:
        body = s3.get_object(Bucket=source.bucket, Key=source.key, **checked)["Body"].read()
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _GONE:
            raise ObjectGoneError(
                f"{source.uri} is gone: its bucket's lifecycle expired it, or it was deleted; "
                "its records cannot be replayed from it (the message is left in the queue)"
            ) from None
        denied = code in ("AccessDenied", "403")
        hint = " (without s3:ListBucket, a missing object answers this)" if denied else ""
        raise FailureObjectError(f"cannot read {source.uri}: {code}{hint}") from None
    try:
        doc = parse_json(body)
    except ValueError:
        raise BadObjectError(f"{source.uri} is not JSON: not a stream failure record") from None
    batch = batch_info(doc)
    if batch is None:
        raise BadObjectError(f"{source.uri} has no DDBStreamBatchInfo: not a stream failure record")
    if isinstance(batch, str):
        raise BadObjectError(f"{source.uri} is a stream failure record, but {batch}")
    metadata = {k: v for k, v in doc.items() if k != "payload"}
    records, why_not = _failed_records(doc.get("payload"), batch)
    return InvocationRecord(source, batch, metadata, records, why_not)


def _failed_records(
    payload: Any, batch: StreamBatch
) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The payload's records within the batch's range, if it holds all ``batchSize`` of them."""
    if isinstance(payload, str):
        try:
            payload = parse_json(payload)
        except ValueError:
            return None, "its payload is not JSON"
    found = payload.get("Records") if isinstance(payload, dict) else None
    if not isinstance(found, list):
        return None, "it has no payload of records"
    first, last = int(batch.start_sequence), int(batch.end_sequence)
    records = [r for r in found if first <= _sequence(r) <= last]
    if len(records) != batch.batch_size:
        return None, f"its payload holds {len(records)} of the batch's {batch.batch_size} records"
    return records, None


def _sequence(record: Any) -> int:
    try:
        return int(record["dynamodb"]["SequenceNumber"])
    except (KeyError, TypeError, ValueError):
        return -1


@dataclass(frozen=True, slots=True)
class ReplayWindow:
    """How long a stream failure queue's failures stay replayable, and why."""

    seconds: int | None
    """None: the records are kept until someone deletes them."""
    via: str
    """``s3`` (the failure bucket holds the records) or ``stream`` (metadata only)."""
    bucket: str | None
    basis: str
    """Where the figure comes from: ``lifecycle``, ``default``, ``no-expiry`` or ``stream``."""

    def to_json(self) -> dict[str, Any]:
        """The ``sluice dlq ls`` fields."""
        return {
            "replayable_s": self.seconds,
            "replayable_via": self.via,
            "replayable_basis": self.basis,
            "failure_bucket": self.bucket,
        }


def replay_window(sqs: Any, s3: Any, queue_url: str) -> ReplayWindow:
    """The failure bucket that notifies the queue (from its policy) and the bucket's expiry."""
    bucket = notifying_bucket(sqs, queue_url)
    if bucket is None:
        return ReplayWindow(STREAM_RETENTION_S, "stream", None, "stream")
    default = ReplayWindow(STREAM_FAILURE_RETENTION_DAYS * _DAY_S, "s3", bucket, "default")
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
            return ReplayWindow(None, "s3", bucket, "no-expiry")
        return default  # e.g. no s3:GetLifecycleConfiguration: the construct's expiry
    days = [
        int(rule["Expiration"]["Days"])
        for rule in rules
        if rule.get("Status") == "Enabled"
        and "Days" in (rule.get("Expiration") or {})
        and _applies(rule)
    ]
    if not days:
        return ReplayWindow(None, "s3", bucket, "no-expiry")
    return ReplayWindow(min(days) * _DAY_S, "s3", bucket, "lifecycle")


def notifying_bucket(sqs: Any, queue_url: str) -> str | None:
    """The bucket the queue's policy lets S3 send from (``aws:SourceArn``), if any."""
    try:
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])
    except ClientError:
        return None
    return policy_bucket(attrs.get("Attributes", {}).get("Policy", ""))


def policy_bucket(policy: str) -> str | None:
    """The bucket a queue policy lets S3 send from (``aws:SourceArn``), if any."""
    try:
        statements = parse_json(policy or "{}").get("Statement", [])
    except (ValueError, AttributeError):
        return None
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict):
            continue
        if statement.get("Effect") != "Allow" or not _from_s3(statement.get("Principal")):
            continue
        conditions = statement.get("Condition")
        for condition in conditions.values() if isinstance(conditions, dict) else ():
            arn = condition.get("aws:SourceArn") if isinstance(condition, dict) else None
            if isinstance(arn, str) and arn.startswith("arn:aws:s3:::"):
                return arn.split(":::", 1)[1]
    return None


def _from_s3(principal: Any) -> bool:
    service = principal.get("Service") if isinstance(principal, dict) else None
    services = service if isinstance(service, list) else [service]
    return "s3.amazonaws.com" in services


def _applies(rule: dict[str, Any]) -> bool:
    """Whether a lifecycle rule expires Lambda's (untagged) objects under ``aws/lambda/``."""
    where = rule.get("Filter") or {}
    if "Tag" in where or "And" in where:
        return False
    return _LAMBDA_PREFIX.startswith(str(where.get("Prefix", rule.get("Prefix", ""))))
