"""The Envelope: the one shape every event travels in, on every hop."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sluice.core.errors import EnvelopeShapeError, MalformedJsonError
from sluice.core.schema import dump

T = TypeVar("T")

_FIELDS = ("id", "type", "version", "source", "time", "correlation_id", "causation_id", "data")
_REQUIRED_STR = ("id", "type", "source", "correlation_id")


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
    """Parse JSON, or raise MalformedJsonError saying where it broke."""
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedJsonError(f"body is not JSON: {exc}") from None


def envelope_from_dict(doc: object) -> Envelope[Any]:
    """Check the envelope's own fields (not the payload) and build it."""
    if not isinstance(doc, dict):
        raise EnvelopeShapeError(f"an envelope must be a JSON object, got {type(doc).__name__}")
    problems = [f"{name}: required field is missing" for name in _FIELDS if name not in doc]
    problems += [f"{name}: unknown field" for name in sorted(set(doc) - set(_FIELDS))]
    for name in _REQUIRED_STR:
        value = doc.get(name)
        if name in doc and (not isinstance(value, str) or not value):
            problems.append(f"{name}: must be a non-empty string, got {value!r}")
    version = doc.get("version")
    if "version" in doc and (type(version) is not int or version < 1):
        problems.append(f"version: must be an integer >= 1, got {version!r}")
    causation = doc.get("causation_id")
    if causation is not None and not isinstance(causation, str):
        problems.append(f"causation_id: must be a string or null, got {causation!r}")
    moment = _parse_time(doc.get("time"), problems) if "time" in doc else None
    if problems:
        raise EnvelopeShapeError("not an envelope: " + "; ".join(problems))
    assert moment is not None
    return Envelope(
        id=doc["id"],
        type=doc["type"],
        version=doc["version"],
        source=doc["source"],
        time=moment,
        correlation_id=doc["correlation_id"],
        causation_id=causation,
        data=doc["data"],
    )


def _parse_time(value: object, problems: list[str]) -> datetime | None:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    problems.append(f"time: must be an RFC 3339 timestamp, got {value!r}")
    return None
