"""Which DLQ messages a command acts on: by type, failure time, id and a JMESPath predicate.

Every filter is checked when it is built, so a malformed one fails before anything moves.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from sluice.ops.errors import FilterError
from sluice.ops.messages import DlqMessage

_RELATIVE = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MATCH = None
FILTERED = "filtered"


@dataclass(frozen=True)
class MessageFilter:
    """A conjunction of filters; an empty filter matches every envelope."""

    types: tuple[str, ...] = ()
    """Event types, shell-style patterns allowed (``order.*``)."""
    since: datetime | None = None
    until: datetime | None = None
    """Bounds on when the message was dead-lettered (``sluice.failed_at``, else SentTimestamp)."""
    ids: frozenset[str] = frozenset()
    """Envelope ids or SQS message ids."""
    where: str | None = None
    """A JMESPath expression on the envelope's wire form; truthy means match."""
    _compiled: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        *,
        types: Iterable[str] = (),
        since: str | None = None,
        until: str | None = None,
        ids: Iterable[str] = (),
        where: str | None = None,
        now: datetime | None = None,
    ) -> MessageFilter:
        """Parse and check every filter, or raise FilterError naming the bad one."""
        moment = now or datetime.now(UTC)
        compiled = None
        if where is not None:
            try:
                compiled = jmespath.compile(where)
            except JMESPathError as exc:
                raise FilterError(f"--where {where!r} is not valid JMESPath: {exc}") from None
        start = parse_time(since, moment, "--since") if since else None
        end = parse_time(until, moment, "--until") if until else None
        if start and end and start > end:
            raise FilterError(f"--since ({start.isoformat()}) is after --until ({end.isoformat()})")
        return cls(tuple(types), start, end, frozenset(ids), where, compiled)

    @property
    def active(self) -> bool:
        """True if anything is filtered at all."""
        return bool(self.types or self.since or self.until or self.ids or self.where)

    def verdict(self, message: DlqMessage) -> str | None:
        """None if the message matches, else why it is skipped (``FILTERED`` or a problem)."""
        if message.envelope is None:
            return f"not an envelope: {message.problem}"
        env = message.envelope
        if self.types and not any(fnmatch.fnmatchcase(str(env["type"]), t) for t in self.types):
            return FILTERED
        if self.ids and not ({str(env["id"]), message.message_id} & self.ids):
            return FILTERED
        return self.check(env, message.failed_at)

    def check(self, doc: dict[str, Any], when: datetime | None) -> str | None:
        """The time bounds and ``--where`` alone, on any JSON document (e.g. a failure record)."""
        if self.since and (when is None or when < self.since):
            return FILTERED
        if self.until and (when is None or when > self.until):
            return FILTERED
        if self._compiled is not None and not self._compiled.search(doc):
            return FILTERED
        return MATCH


def parse_time(text: str, now: datetime, option: str) -> datetime:
    """ISO 8601 (UTC unless it says otherwise) or a span ago: ``30m``, ``2h``, ``1d``."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = relative.groups()
        return now - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"{option} {text!r} is neither an ISO 8601 time (2026-11-23T18:00:00Z) "
            "nor a span ago (30m, 2h, 1d)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
