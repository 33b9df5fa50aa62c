"""Fault injection for batch calls, through botocore's event hooks (the real client runs).

``EntryFaults`` makes chosen entries of PublishBatch / SendMessageBatch / DeleteMessageBatch
fail: they are taken out of the request before it is sent, and reported in the answer's
``Failed`` list, exactly as AWS reports a partial failure. ``CallFaults`` answers whole
calls with an error code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

_ENTRIES = {
    "PublishBatch": "PublishBatchRequestEntries",
    "SendMessageBatch": "Entries",
    "DeleteMessageBatch": "Entries",
}


@dataclass
class EntryFaults:
    """Entries whose body (a receipt handle for deletes) matches ``fails`` are refused,
    ``times`` times each (None: always)."""

    client: Any
    operation: str
    fails: Callable[[str], bool]
    times: int | None = None
    code: str = "InternalError"
    sender_fault: bool = False
    calls: list[list[str]] = field(default_factory=list)
    """The entry ids of every call as the client made it (before any was taken out)."""
    groups: list[list[str | None]] = field(default_factory=list)
    """The entries' MessageGroupId (None on standard queues) of every call, likewise."""
    _refusals: dict[str, int] = field(default_factory=dict)
    _dropped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        events = self.client.meta.events
        service = self.client.meta.service_model.service_id.hyphenize()
        events.register(f"before-parameter-build.{service}.{self.operation}", self._take_out)
        events.register(f"before-call.{service}.{self.operation}", self._short_circuit)
        events.register(f"after-call.{service}.{self.operation}", self._report)

    def _take_out(self, params: dict[str, Any], **_: Any) -> None:
        entries = params[_ENTRIES[self.operation]]
        self.calls.append([e["Id"] for e in entries])
        self.groups.append([e.get("MessageGroupId") for e in entries])
        self._dropped = []
        kept = []
        for entry in entries:
            body = (
                entry.get("Message") or entry.get("MessageBody") or entry.get("ReceiptHandle") or ""
            )
            seen = self._refusals.get(body, 0)
            if self.fails(body) and (self.times is None or seen < self.times):
                self._refusals[body] = seen + 1
                self._dropped.append(entry["Id"])
            else:
                kept.append(entry)
        entries[:] = kept

    def _short_circuit(self, **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if self._dropped and len(self._dropped) == len(self.calls[-1]):
            return SimpleNamespace(status_code=200, headers={}), {"Successful": [], "Failed": []}
        return None

    def _report(self, parsed: dict[str, Any], **_: Any) -> None:
        parsed.setdefault("Failed", [])
        parsed["Failed"] += [
            {"Id": i, "Code": self.code, "Message": "injected", "SenderFault": self.sender_fault}
            for i in self._dropped
        ]


@dataclass
class CallFaults:
    """The first ``times`` calls of ``operation`` (after the first ``after``, which pass)
    fail as a whole with ``code`` (HTTP 400)."""

    client: Any
    operation: str
    times: int
    code: str = "Throttling"
    calls: int = 0
    after: int = 0

    def __post_init__(self) -> None:
        service = self.client.meta.service_model.service_id.hyphenize()
        self.client.meta.events.register(f"before-call.{service}.{self.operation}", self._answer)

    def _answer(self, **_: Any) -> tuple[Any, dict[str, Any]] | None:
        self.calls += 1
        if not self.after < self.calls <= self.after + self.times:
            return None
        error = {"Error": {"Code": self.code, "Message": "injected"}, "ResponseMetadata": {}}
        return SimpleNamespace(status_code=400, headers={}), error
