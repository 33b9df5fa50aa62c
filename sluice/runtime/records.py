"""Turn a Lambda event into records, and each record into a typed Envelope.

A record arrives as SQS raw, SNS-wrapped inside SQS (no raw delivery), SQS FIFO, or a
DynamoDB stream record. Whatever the route, the worker function sees an ``Envelope``.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sluice.core import (
    Catalog,
    ContractError,
    Envelope,
    EnvelopeShapeError,
    parse_json,
)
from sluice.runtime.errors import InvalidEventError
from sluice.runtime.spec import Source

SQS = "aws:sqs"
DYNAMODB = "aws:dynamodb"
STREAM_NAMESPACE = uuid.UUID("5e1a1ce0-0000-4000-8000-57a3a3c0de00")
STREAM_EVENT_PREFIX = "dynamodb."
MAX_ID_BYTES = 1024
"""The longest envelope id (UTF-8) a worker takes. DynamoDB caps a hash key at 2048 bytes;
the claim key adds ``<worker>#`` and other stores may add their own prefix, so half is kept
in reserve."""
_DETAIL = 300


@dataclass(frozen=True, slots=True)
class Inbound:
    """One record as delivered, with what the engine needs to answer and route it."""

    item_id: str
    """The identifier ``batchItemFailures`` names: messageId or stream sequence number."""
    raw: dict[str, Any]
    source_arn: str
    receive_count: int = 1
    group_id: str | None = None
    sent_at_ms: int | None = None

    @property
    def is_stream(self) -> bool:
        """True for a DynamoDB stream record."""
        return self.raw.get("eventSource") == DYNAMODB


@dataclass(frozen=True, slots=True)
class StreamChange:
    """A DynamoDB stream record, with its images as plain Python values."""

    table: str
    event_name: str
    keys: dict[str, Any]
    new_image: dict[str, Any] | None
    old_image: dict[str, Any] | None
    sequence_number: str
    created_at: datetime


def parse_batch(event: object, source: Source, worker: str) -> list[Inbound]:
    """Check the invocation's shape and list its records, or raise InvalidEventError."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        keys = sorted(event)[:8] if isinstance(event, dict) else "-"
        raise InvalidEventError(
            f"worker {worker!r} expects a Lambda batch event with a 'Records' list; "
            f"got {type(event).__name__} with keys {keys}"
        )
    records: list[Any] = event["Records"]
    if not records:
        raise InvalidEventError(f"worker {worker!r} got an empty batch: 'Records' is []")
    expected = DYNAMODB if source is Source.STREAM else SQS
    inbound = []
    for index, record in enumerate(records):
        got = record.get("eventSource") if isinstance(record, dict) else None
        if got != expected:
            raise InvalidEventError(
                f"worker {worker!r} consumes {expected} records; record {index} comes from "
                f"{got!r}. Nothing was processed, so nothing is lost."
            )
        inbound.append(_stream_inbound(record) if expected == DYNAMODB else _sqs_inbound(record))
    return inbound


def _sqs_inbound(record: dict[str, Any]) -> Inbound:
    attributes = record.get("attributes") or {}
    sent = attributes.get("SentTimestamp")
    return Inbound(
        item_id=record["messageId"],
        raw=record,
        source_arn=record.get("eventSourceARN", ""),
        receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
        group_id=attributes.get("MessageGroupId"),
        sent_at_ms=int(sent) if sent else None,
    )


def _stream_inbound(record: dict[str, Any]) -> Inbound:
    body = record.get("dynamodb")
    body = body if isinstance(body, dict) else {}  # a broken record fails when decoded
    created = _epoch_s(body.get("ApproximateCreationDateTime"))
    return Inbound(
        item_id=str(body.get("SequenceNumber", "")),
        raw=record,
        source_arn=record.get("eventSourceARN", ""),
        sent_at_ms=_ms(created),
    )


def _ms(seconds: float | None) -> int | None:
    """Epoch seconds -> milliseconds; None for a time no record can have."""
    if seconds is None or not math.isfinite(seconds) or not 0 < seconds < 1e11:
        return None
    return int(seconds * 1000)


def _epoch_s(value: object) -> float | None:
    """Lambda sends epoch seconds; boto3's GetRecords gives a datetime. Accept both."""
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return float(value) if isinstance(value, int | float | str) else None
    except ValueError:  # "" and any other text that is no number
        return None


def decode(inbound: Inbound, catalog: Catalog) -> Envelope[Any]:
    """The record's envelope with typed data; ContractError if it cannot be one.

    This is the runtime's decode boundary: whatever a body makes the parser raise (a
    ``RecursionError`` for ``[`` x 100 000, a ``ValueError`` for a 5000-digit number...)
    comes out as a ContractError with the cause in its detail, so one bad record is a
    permanent failure of its own and never fails its batch.
    """
    if inbound.is_stream:
        try:
            envelope: Envelope[Any] = stream_envelope(inbound.raw)
        except Exception as exc:  # any shape of record: a failure of this record alone
            raise EnvelopeShapeError(f"malformed stream record: {_cause(exc)}") from None
        return envelope
    body = inbound.raw.get("body")
    if not isinstance(body, str):
        raise EnvelopeShapeError(f"SQS record has no string body (got {type(body).__name__})")
    try:
        envelope = catalog.decode(unwrap_sns(body))
    except ContractError:
        raise
    except Exception as exc:  # the parser or a validator gave up in its own way
        raise UndecodableError(f"body cannot be decoded: {_cause(exc)}") from None
    check_id(envelope.id)
    return envelope


class UndecodableError(ContractError):
    """The body made the decoder raise something other than a contract error."""

    reason = "undecodable"


def check_id(event_id: str) -> None:
    """Refuse an id that cannot be a key (over ``MAX_ID_BYTES``, or not valid Unicode)."""
    try:
        size = len(event_id.encode())
    except UnicodeEncodeError:
        raise EnvelopeShapeError(
            "not an envelope: id: must be valid Unicode text (it holds a lone surrogate)"
        ) from None
    if size > MAX_ID_BYTES:
        raise EnvelopeShapeError(
            f"not an envelope: id: must be at most {MAX_ID_BYTES} bytes (UTF-8), got {size}"
        )


def _cause(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _DETAIL else text[: _DETAIL - 3] + "..."


def unwrap_sns(body: str) -> str:
    """The inner message if ``body`` is an SNS notification (no raw delivery), else body."""
    if body.startswith("{") and '"TopicArn"' in body:
        try:
            doc = parse_json(body)
        except Exception:  # no notification we can read: whoever decodes the body says why
            return body
        if isinstance(doc, dict) and doc.get("Type") == "Notification" and "Message" in doc:
            return str(doc["Message"])
    return body


def stream_change(record: dict[str, Any]) -> StreamChange:
    """A stream record's change, images deserialized from DynamoDB's typed JSON."""
    body = record["dynamodb"]
    stamp = _ms(_epoch_s(body.get("ApproximateCreationDateTime")))
    return StreamChange(
        table=table_from_arn(record.get("eventSourceARN", "")),
        event_name=record["eventName"],
        keys=_plain(body["Keys"]),
        new_image=_plain(body["NewImage"]) if "NewImage" in body else None,
        old_image=_plain(body["OldImage"]) if "OldImage" in body else None,
        sequence_number=str(body["SequenceNumber"]),
        created_at=datetime.fromtimestamp(stamp / 1000, UTC) if stamp else datetime.now(UTC),
    )


def lambda_stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A DynamoDB Streams GetRecords record -> the record Lambda hands a function.

    Used by the sandbox's stream pollers and by the stream-failure replay.
    """
    body = dict(record["dynamodb"])
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        stamp = created if created.tzinfo else created.replace(tzinfo=UTC)
        body["ApproximateCreationDateTime"] = stamp.timestamp()
    return {
        **record,
        "eventSource": DYNAMODB,
        "eventVersion": record.get("eventVersion", "1.1"),
        "awsRegion": region,
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }


def stream_event_id(table: str, keys: dict[str, Any], sequence_number: str) -> str:
    """A deterministic id: re-reading the same stream record yields the same id."""
    key = json.dumps(keys, sort_keys=True, separators=(",", ":"), default=str)
    return str(uuid.uuid5(STREAM_NAMESPACE, f"{table}|{key}|{sequence_number}"))


def stream_envelope(record: dict[str, Any]) -> Envelope[StreamChange]:
    """Wrap a stream record as ``dynamodb.insert|modify|remove``, id derived from it."""
    change = stream_change(record)
    image = change.new_image or change.old_image or {}
    event_id = stream_event_id(change.table, change.keys, change.sequence_number)
    correlation = image.get("correlation_id")
    return Envelope(
        id=event_id,
        type=STREAM_EVENT_PREFIX + change.event_name.lower(),
        version=1,
        source=f"dynamodb:{change.table}",
        time=change.created_at,
        correlation_id=correlation if isinstance(correlation, str) and correlation else event_id,
        causation_id=None,
        data=change,
    )


def table_from_arn(arn: str) -> str:
    """``arn:aws:dynamodb:r:a:table/notes/stream/...`` -> ``notes``."""
    parts = arn.split(":", 5)[-1].split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "table" else arn


def _plain(image: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed JSON (``{"S": "x"}``, ``{"N": "2"}``...) -> plain Python values."""
    return {k: _value(v) for k, v in image.items()}


def _value(typed: dict[str, Any]) -> Any:
    [(kind, raw)] = typed.items()
    if kind in ("S", "BOOL"):
        return raw
    if kind == "N":
        return _number(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return _plain(raw)
    if kind == "L":
        return [_value(v) for v in raw]
    if kind in ("SS", "BS"):
        return sorted(raw)
    if kind == "NS":
        return sorted(_number(n) for n in raw)
    if kind == "B":
        return raw  # base64 text, as the stream delivers it
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def _number(text: str) -> int | float:
    number = Decimal(text)
    if not number.is_finite() or not -130 <= number.adjusted() <= 125:
        raise ValueError(f"{text[:40]!r} is not a DynamoDB number (38 digits, 1E-130..1E+125)")
    return int(number) if number == number.to_integral_value() else float(number)
