"""A dead-lettered message as an operator sees it: envelope, failure, receive history."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sluice.core import ContractError, parse_json
from sluice.core.envelope import envelope_from_dict
from sluice.ops import scheduled
from sluice.ops.s3_notices import Notice, notice
from sluice.runtime import queues
from sluice.runtime.records import unwrap_sns

# What ReceiveMessage should return for every message the tools look at.
RECEIVE_ATTRIBUTES = {
    "AttributeNames": ["All"],
    "MessageAttributeNames": ["All"],
    "MessageSystemAttributeNames": ["All"],
}
_STREAM_ARN = re.compile(
    r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}/stream/[\x21-\x7e]+"
)
_SHARD_ID = re.compile(r"[\x21-\x7e]{1,65}")
_SEQUENCE = re.compile(r"[0-9]{1,40}")
_TEST_EVENT = "S3 test event, sent once when the bucket notification was set up: no failure"
_FAILURE_NAMES = {
    queues.REASON: "reason",
    queues.DETAIL: "detail",
    queues.WORKER: "worker",
    queues.SOURCE_QUEUE: "source_queue",
    queues.FAILED_AT: "failed_at",
    queues.RECEIVES: "receive_count",
}


@dataclass(frozen=True, slots=True)
class StreamBatch:
    """The ``DDBStreamBatchInfo`` of a Lambda on-failure record: where the failed records are."""

    stream_arn: str
    shard_id: str
    start_sequence: str
    end_sequence: str
    batch_size: int
    first_arrival: str
    last_arrival: str
    condition: str
    timestamp: str


@dataclass(frozen=True, slots=True)
class DlqMessage:
    """One received DLQ message, decoded as far as it goes."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, Any]
    """Message attributes in SendMessage's shape (DataType + StringValue or BinaryValue)."""
    system: dict[str, str]
    """System attributes: SentTimestamp, ApproximateReceiveCount, MessageGroupId..."""
    envelope: dict[str, Any] | None = field(default=None)
    """The envelope's wire form (``data`` undecoded), or None when the body is not one."""
    problem: str | None = None
    """Why the body is not an envelope (or a stream on-failure record)."""
    stream: StreamBatch | None = None
    """A metadata-only on-failure record's batch info."""
    notice: Notice | None = None
    """An S3 notification naming on-failure records kept in a bucket."""
    scheduler: dict[str, Any] = field(default_factory=dict)
    """EventBridge Scheduler's attributes of a schedule's dead-letter event (ERROR_CODE...);
    ``body`` and ``attributes`` are then the envelope and attributes it failed to send."""
    carried_group: str | None = None
    """The FIFO group of the request a schedule's dead-letter event carries."""

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> DlqMessage:
        """Decode a ReceiveMessage entry."""
        carried = scheduled.unwrap(
            str(message.get("Body", "")), dict(message.get("MessageAttributes") or {})
        )
        body = carried.body
        batch = stream_batch(body)
        stream = batch if isinstance(batch, StreamBatch) else None
        announced = None if batch else notice(body)
        doc, problem = (None, None) if batch or announced else envelope_doc(body)
        if isinstance(batch, str):
            problem = f"a stream on-failure record, but {batch}"
        if announced is not None:
            problem = announced.problem or (_TEST_EVENT if announced.test_event else None)
        return cls(
            message_id=message["MessageId"],
            receipt_handle=message["ReceiptHandle"],
            body=body,
            attributes=carried.attributes,
            system={k: str(v) for k, v in (message.get("Attributes") or {}).items()},
            envelope=doc,
            problem=problem,
            stream=stream,
            notice=announced,
            scheduler=carried.scheduler,
            carried_group=carried.group_id,
        )

    @property
    def group_id(self) -> str | None:
        """The FIFO message group: the DLQ message's own, else the one its request carried."""
        return self.system.get("MessageGroupId") or self.carried_group

    @property
    def sent_at(self) -> datetime | None:
        """SentTimestamp: when a worker sent the message to the DLQ, or, for one SQS's
        redrive moved there after maxReceiveCount receives, when it was sent to its queue."""
        return _from_ms(self.system.get("SentTimestamp"))

    @property
    def failure(self) -> dict[str, str]:
        """The ``sluice.failure_*`` attributes the engine attached (or the Scheduler's
        error code and message), by short name."""
        return {
            short: str(self.attributes[name].get("StringValue", ""))
            for name, short in _FAILURE_NAMES.items()
            if name in self.attributes
        } | scheduled.failure(self.scheduler)

    @property
    def failed_at(self) -> datetime | None:
        """When it was dead-lettered: the engine's ``failed_at``, else when it reached the DLQ."""
        stamp = self.failure.get("failed_at")
        if stamp:
            try:
                moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is not None:
                return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return self.sent_at

    @property
    def original_attributes(self) -> dict[str, Any]:
        """The attributes the message was first sent with (ours about its failure removed)."""
        return {k: v for k, v in self.attributes.items() if k not in queues.FAILURE_ATTRIBUTES}

    @property
    def envelope_id(self) -> str | None:
        """The envelope id, the idempotency key downstream."""
        return str(self.envelope["id"]) if self.envelope else None

    def describe(self) -> dict[str, Any]:
        """Everything ``sluice dlq show`` prints about the message, as JSON values."""
        failure = self.failure
        env = self.envelope or {}
        return {
            "message_id": self.message_id,
            "envelope_id": env.get("id"),
            "type": env.get("type"),
            "version": env.get("version"),
            "correlation_id": env.get("correlation_id"),
            "time": env.get("time"),
            "reason": failure.get("reason"),
            "detail": failure.get("detail"),
            "failed_worker": failure.get("worker"),
            "source_queue": failure.get("source_queue"),
            # The worker's receives when it gave up. No first receive on the source queue is
            # shown: SQS's ApproximateFirstReceiveTimestamp of a message in the DLQ is its
            # first receive there (the first peek), not the worker's.
            "receive_count": _count(failure.get("receive_count")),
            "dead_lettered_at": _iso(self.failed_at) if "failed_at" in failure else None,
            "sent_at": _iso(self.sent_at),
            "sqs_receive_count": self._dlq_receives(),
            "group_id": self.group_id,
            "problem": self.problem,
            "stream": None if self.stream is None else stream_json(self.stream),
            "failure_object": None,
        }

    def _dlq_receives(self) -> int:
        """SQS's ApproximateReceiveCount: every receive of the message, peeks included."""
        return int(self.system.get("ApproximateReceiveCount", "0"))


def stream_batch(body: str) -> StreamBatch | str | None:
    """The batch info of a Lambda stream on-failure record: None if the body is not one, or
    what is wrong with it."""
    try:
        doc = parse_json(body)
    except ValueError:
        return None
    return batch_info(doc)


def batch_info(doc: Any) -> StreamBatch | str | None:
    """The ``DDBStreamBatchInfo`` of a decoded invocation record: None if it has none, or
    what is wrong with it."""
    info = doc.get("DDBStreamBatchInfo") if isinstance(doc, dict) else None
    if not isinstance(info, dict):
        return None
    problem = _batch_problem(info)
    if problem is not None:
        return f"its DDBStreamBatchInfo {problem}"
    context = doc.get("requestContext")
    return StreamBatch(
        stream_arn=info["streamArn"],
        shard_id=info["shardId"],
        start_sequence=info["startSequenceNumber"],
        end_sequence=info["endSequenceNumber"],
        batch_size=info["batchSize"],
        first_arrival=str(info.get("approximateArrivalOfFirstRecord", "")),
        last_arrival=str(info.get("approximateArrivalOfLastRecord", "")),
        condition=str(context.get("condition", "")) if isinstance(context, dict) else "",
        timestamp=str(doc.get("timestamp", "")),
    )


def _batch_problem(info: dict[str, Any]) -> str | None:
    """What a batch info lacks for its records to be found, or None."""
    arn, shard = info.get("streamArn"), info.get("shardId")
    if not isinstance(arn, str) or not _STREAM_ARN.fullmatch(arn):
        return "names no DynamoDB stream (streamArn)"
    if not isinstance(shard, str) or not _SHARD_ID.fullmatch(shard):
        return "names no shard (shardId)"
    start, end = info.get("startSequenceNumber"), info.get("endSequenceNumber")
    sequences = [s for s in (start, end) if isinstance(s, str) and _SEQUENCE.fullmatch(s)]
    if len(sequences) != 2 or int(sequences[0]) > int(sequences[1]):
        return "names no sequence range (startSequenceNumber..endSequenceNumber)"
    size = info.get("batchSize")
    if type(size) is not int or size < 1:
        return "has no batchSize of 1 or more"
    return None


def attributes_to_json(attributes: dict[str, Any]) -> dict[str, Any]:
    """Message attributes as JSON values (binary ones base64-encoded)."""
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        entry = {"DataType": value.get("DataType", "String")}
        if "BinaryValue" in value:
            entry["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        else:
            entry["StringValue"] = str(value.get("StringValue", ""))
        out[name] = entry
    return out


def attributes_from_json(doc: object) -> dict[str, Any]:
    """The inverse of ``attributes_to_json``; ValueError names what is wrong."""
    if not isinstance(doc, dict):
        raise ValueError(f"attributes must be an object, got {type(doc).__name__}")
    out: dict[str, Any] = {}
    for name, value in doc.items():
        if not isinstance(value, dict) or not isinstance(value.get("DataType"), str):
            raise ValueError(f"attribute {name!r} needs a DataType and a value")
        if isinstance(value.get("BinaryValue"), str):
            out[name] = {
                "DataType": value["DataType"],
                "BinaryValue": base64.b64decode(value["BinaryValue"], validate=True),
            }
        elif isinstance(value.get("StringValue"), str):
            out[name] = {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        else:
            raise ValueError(f"attribute {name!r} has neither StringValue nor BinaryValue")
    return out


def envelope_doc(body: str) -> tuple[dict[str, Any] | None, str | None]:
    """The envelope's wire form (SNS wrapping removed), or None and why it is not one."""
    try:
        doc = parse_json(unwrap_sns(body))
        envelope_from_dict(doc)
    except ContractError as exc:
        return None, f"{exc.reason}: {exc.detail}"
    except Exception as exc:  # any body: the parser may give up in its own way
        return None, f"undecodable: {type(exc).__name__}: {str(exc)[:200]}"
    return dict(doc), None


def stream_json(batch: StreamBatch, records: int | None = None) -> dict[str, Any]:
    """What ``show`` prints of a failed batch; ``records``: how many its S3 object holds."""
    return {
        "shard_id": batch.shard_id,
        "start_sequence": batch.start_sequence,
        "end_sequence": batch.end_sequence,
        "batch_size": batch.batch_size,
        "stream_arn": batch.stream_arn,
        "condition": batch.condition,
        "first_arrival": batch.first_arrival,
        "last_arrival": batch.last_arrival,
        "records": records,
    }


def _count(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _from_ms(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(value) / 1000, UTC) if value else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment else None
