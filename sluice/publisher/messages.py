"""Envelopes as SNS/SQS batch entries: attributes, FIFO ids, sizes, and packing into calls."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sluice.core import Envelope
from sluice.core.schema import dump
from sluice.publisher.errors import GroupingError, OversizeError

MAX_ENTRIES = 10
MAX_BYTES = 256 * 1024
"""SNS and SQS both cap one message, and one batch in total, at 256 KiB."""
_DEDUP = re.compile(r"[\x21-\x7e]{1,128}")


@dataclass(frozen=True, slots=True)
class Message:
    """One envelope ready to send: body, attributes, FIFO ids, and its size as AWS counts it."""

    envelope_id: str
    body: str
    attributes: dict[str, dict[str, str]]
    size: int
    group_id: str | None = None
    dedup_id: str | None = None

    def entry(self, entry_id: str, body_key: str) -> dict[str, Any]:
        """The PublishBatch / SendMessageBatch entry."""
        entry: dict[str, Any] = {
            "Id": entry_id,
            body_key: self.body,
            "MessageAttributes": self.attributes,
        }
        if self.group_id is not None:
            entry["MessageGroupId"] = self.group_id
            entry["MessageDeduplicationId"] = self.dedup_id
        return entry


def attributes(envelope: Envelope[Any]) -> dict[str, dict[str, str]]:
    """``event_type``, ``event_version`` and ``correlation_id``, for filters and tools."""
    return {
        "event_type": {"DataType": "String", "StringValue": envelope.type},
        "event_version": {"DataType": "Number", "StringValue": str(envelope.version)},
        "correlation_id": {"DataType": "String", "StringValue": envelope.correlation_id},
    }


def dedup_id(envelope_id: str) -> str:
    """A deterministic FIFO deduplication id: the envelope id, or its hash if it won't fit."""
    if _DEDUP.fullmatch(envelope_id):
        return envelope_id
    return hashlib.sha256(envelope_id.encode()).hexdigest()


def group_id(envelope: Envelope[Any], group_by: Mapping[str, str]) -> str:
    """The MessageGroupId: the value of the data field named for the envelope's type."""
    name = group_by.get(envelope.type)
    if name is None:
        raise GroupingError(
            f"a FIFO destination needs a MessageGroupId, and no group_by field is set for "
            f"{envelope.type!r}; pass group_by={{{envelope.type!r}: '<data field>'}}"
        )
    data = dump(envelope.data)
    value = data.get(name) if isinstance(data, dict) else None
    if value is None or value == "":
        raise GroupingError(
            f"envelope {envelope.id} ({envelope.type}) has no data field {name!r} to group by"
        )
    return str(value)[:128]


def to_message(
    envelope: Envelope[Any], *, fifo: bool, group_by: Mapping[str, str], limit: int = MAX_BYTES
) -> Message:
    """Build the message, or raise before anything is sent if it cannot be sent."""
    body = envelope.to_json()
    attrs = attributes(envelope)
    size = len(body.encode()) + sum(
        len(name.encode()) + len(a["DataType"].encode()) + len(a["StringValue"].encode())
        for name, a in attrs.items()
    )
    if size > limit:
        raise OversizeError(envelope.id, size, limit)
    if not fifo:
        return Message(envelope.id, body, attrs, size)
    return Message(
        envelope.id, body, attrs, size, group_id(envelope, group_by), dedup_id(envelope.id)
    )


def to_messages(
    envelopes: Iterable[Envelope[Any]], *, fifo: bool, group_by: Mapping[str, str]
) -> list[Message]:
    """Every envelope as a message; any that cannot be sent fails the whole call up front."""
    return [to_message(e, fifo=fifo, group_by=group_by) for e in envelopes]


def pack(
    messages: Iterable[Message], max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES
) -> Iterator[list[Message]]:
    """Consecutive batches of at most ``max_entries`` messages and ``max_bytes`` in total."""
    batch: list[Message] = []
    size = 0
    for message in messages:
        if batch and (len(batch) == max_entries or size + message.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += message.size
    if batch:
        yield batch
