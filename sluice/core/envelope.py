"""The Envelope: the one shape every event travels in, on every hop."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import msgspec

from sluice.core.errors import EnvelopeShapeError, MalformedJsonError
from sluice.core.schema import dump, json_type, problems, rules

T = TypeVar("T")


def utc_now() -> datetime:
    """The current time in UTC, to the millisecond (what the wire form carries)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. ``2026-11-23T18:44:20.123Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Envelope(Generic[T]):
    """An event. ``id`` is the idempotency key; ``correlation_id`` follows it across hops."""

    id: str
    type: str
    version: int
    source: str
    time: datetime
    correlation_id: str
    causation_id: str | None
    data: T = field(repr=False)

    @classmethod
    def new(
        cls,
        type: str,
        data: T,
        *,
        source: str,
        version: int = 1,
        id: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        time: datetime | None = None,
    ) -> Envelope[T]:
        """A fresh event; the id and the correlation id default to new UUIDs."""
        event_id = id or str(uuid.uuid4())
        return cls(
            id=event_id,
            type=type,
            version=version,
            source=source,
            time=time or utc_now(),
            correlation_id=correlation_id or event_id,
            causation_id=causation_id,
            data=data,
        )

    def caused(self, type: str, data: Any, *, source: str, id: str | None = None) -> Envelope[Any]:
        """An event caused by this one: same correlation id, causation id = this id."""
        return Envelope.new(
            type,
            data,
            source=source,
            id=id,
            correlation_id=self.correlation_id,
            causation_id=self.id,
        )

    def with_data(self, data: Any) -> Envelope[Any]:
        """The same envelope carrying ``data`` (e.g. the typed model of its raw payload)."""
        return replace(self, data=data)

    def to_dict(self) -> dict[str, Any]:
        """The wire form as plain JSON values."""
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "source": self.source,
            "time": format_time(self.time),
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "data": dump(self.data),
        }

    def to_json(self) -> str:
        """The wire form: compact JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)


def parse_json(body: str | bytes) -> Any:
    """Parse JSON, or raise MalformedJsonError saying why: any failure, not only a syntax one
    (nesting too deep for the parser, a number too long to convert, bytes that are not UTF-8)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError, TypeError) as exc:
        raise MalformedJsonError(f"body is not JSON: {exc}") from None


class Wire(msgspec.Struct, Generic[T], frozen=True, forbid_unknown_fields=True):
    """The envelope as it travels: what ``Envelope`` holds, ``time`` still in RFC 3339."""

    id: Annotated[str, rules(min_len=1)]
    type: Annotated[str, rules(min_len=1)]
    version: Annotated[int, rules(min=1)]
    source: Annotated[str, rules(min_len=1)]
    time: datetime
    correlation_id: Annotated[str, rules(min_len=1)]
    causation_id: str | None
    data: T


def from_wire(wire: Wire[Any], data: Any) -> Envelope[Any]:
    """The Envelope a checked wire form carries, ``data`` typed (a time without zone is UTC)."""
    moment = wire.time if wire.time.tzinfo else wire.time.replace(tzinfo=UTC)
    return Envelope(
        wire.id,
        wire.type,
        wire.version,
        wire.source,
        moment,
        wire.correlation_id,
        wire.causation_id,
        data,
    )


def envelope_from_dict(doc: object) -> Envelope[Any]:
    """Check the envelope's own fields (not the payload) and build it; every problem named."""
    if not isinstance(doc, dict):
        raise EnvelopeShapeError(f"an envelope must be a JSON object, got {json_type(doc)}")
    try:
        wire = msgspec.convert(doc, Wire[Any])
    except msgspec.ValidationError:
        found = problems(Wire[Any], doc, "")
        raise EnvelopeShapeError("not an envelope: " + "; ".join(found)) from None
    return from_wire(wire, wire.data)
