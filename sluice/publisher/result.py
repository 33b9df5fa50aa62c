"""The typed outcome of a publish: what was accepted, what failed and why."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Sent:
    """One envelope the destination accepted."""

    envelope_id: str
    message_id: str
    sequence_number: str | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """One envelope the destination refused after every retry, with its error code."""

    envelope_id: str
    code: str
    message: str
    sender_fault: bool
    attempts: int


@dataclass
class PublishResult:
    """Accepted and refused envelopes, and the API calls it took."""

    sent: list[Sent] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    calls: int = 0

    @property
    def ok(self) -> bool:
        """True when every envelope was accepted."""
        return not self.failed

    @property
    def total(self) -> int:
        """Envelopes attempted."""
        return len(self.sent) + len(self.failed)

    @property
    def failed_ids(self) -> list[str]:
        """The ids of the envelopes that were not published."""
        return [f.envelope_id for f in self.failed]

    def merge(self, other: PublishResult) -> None:
        """Add another result's outcomes to this one."""
        self.sent += other.sent
        self.failed += other.failed
        self.calls += other.calls
