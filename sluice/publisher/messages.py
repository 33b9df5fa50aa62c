"""Envelopes as SNS/SQS batch entries: attributes, FIFO ids, sizes, and packing into calls."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sluice.core import Envelope
from sluice.core.schema import dump
from sluice.publisher.errors import GroupingError, OversizeError, PublisherError

MAX_ENTRIES = 10
MAX_BYTES = 256 * 1024
"""SNS and SQS both cap one message, and one batch in total, at 256 KiB."""
_DEDUP = re.compile(r"[\x21-\x7e]{1,128}")
_UNSENDABLE = re.compile(r"[\ud800-\udfff\ufffe\uffff]")
"""Characters SQS and SNS refuse in a message (they take #x9, #xA, #xD, #x20-#xD7FF,
#xE000-#xFFFD and #x10000-#x10FFFF); JSON's encoder already escapes the control ones."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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
    return hashlib.sha256(envelope_id.encode(errors="surrogatepass")).hexdigest()


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
    text = str(value)
    if _DEDUP.fullmatch(text[:128]):
        return text[:128]
    # SQS and SNS take 1-128 visible ASCII characters: any other value goes by its hash,
    # so each value is still one group.
    return hashlib.sha256(text.encode(errors="surrogatepass")).hexdigest()


def entry_size(body: str, attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """A message's size as SQS and SNS count it: body plus each attribute's name, type and
    value, in bytes."""
    total = len(body.encode(errors="surrogatepass"))
    for name, value in attributes.items():
        data = value.get("BinaryValue") or str(value.get("StringValue", "")).encode()
        total += len(name.encode()) + len(str(value.get("DataType", "")).encode()) + len(data)
    return total


def _escape(match: re.Match[str]) -> str:
    """The JSON escape of one character: the same string once decoded."""
    return f"\\u{ord(match.group()):04x}"


def _check_attribute(envelope_id: str, name: str, value: str) -> None:
    """SQS and SNS refuse an empty attribute value, and characters outside their set."""
    bad = _UNSENDABLE.search(value) or _CONTROL.search(value)
    if not value or bad:
        what = f"character {bad.group()!r}" if bad else "an empty value"
        error = PublisherError(
            f"envelope {envelope_id[:80]!r}: its {name} attribute holds {what}, which SQS and "
            "SNS refuse; fix the envelope's type or correlation id"
        )
        error.envelope_id = envelope_id
        raise error


def to_message(
    envelope: Envelope[Any], *, fifo: bool, group_by: Mapping[str, str], limit: int = MAX_BYTES
) -> Message:
    """Build the message, or raise before anything is sent if it cannot be sent."""
    body = _UNSENDABLE.sub(_escape, envelope.to_json())
    attrs = attributes(envelope)
    for name, attribute in attrs.items():
        _check_attribute(envelope.id, name, attribute["StringValue"])
    size = entry_size(body, attrs)
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


class Sized(Protocol):
    """Anything sent in a batch whose size counts against the batch limit."""

    @property
    def size(self) -> int:
        """Bytes, as the service counts them."""
        ...


S = TypeVar("S", bound=Sized)


def pack(
    messages: Iterable[S],
    max_entries: int = MAX_ENTRIES,
    max_bytes: int = MAX_BYTES,
    *,
    key: Callable[[S], Hashable] | None = None,
) -> Iterator[list[S]]:
    """Consecutive batches of at most ``max_entries`` messages and ``max_bytes`` in total.

    With ``key``, a batch holds at most one message per key: FIFO calls carry one message
    of a group, so a refused message never sees a later one of its group accepted in the
    same call.
    """
    batch: list[S] = []
    size = 0
    keys: set[Hashable] = set()
    for message in messages:
        mark = key(message) if key is not None else None
        full = len(batch) == max_entries or size + message.size > max_bytes
        if batch and (full or (key is not None and mark in keys)):
            yield batch
            batch, size, keys = [], 0, set()
        batch.append(message)
        size += message.size
        keys.add(mark)
    if batch:
        yield batch
