"""Replay a DLQ: send first, delete only after the send succeeded, audit every move.

Whatever happens (a crash included) each message is in the DLQ, in the destination, or in
both; a replay repeated after a crash is safe because downstream effects are keyed by the
envelope id, and FIFO destinations get a deterministic deduplication id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sluice.ops.audit import AuditEntry, AuditLog
from sluice.ops.destinations import Destination, Outgoing, resolve
from sluice.ops.dlqs import OpenDlq, depth, find, home_queue
from sluice.ops.filters import FILTERED, MessageFilter
from sluice.ops.messages import DlqMessage
from sluice.ops.ratelimit import TokenBucket, batch_size
from sluice.ops.scan import Scanner
from sluice.target import Target


class Progress(Protocol):
    """Told how many messages there are, then how many were looked at."""

    def start(self, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


@dataclass(frozen=True)
class ReplayOptions:
    """What to replay, where, and how fast."""

    to: str | None = None
    """A queue or topic; default: the worker queue the messages failed on."""
    filter: MessageFilter = field(default_factory=MessageFilter)
    limit: int | None = None
    rate: float | None = None
    """Messages per second; None for as fast as SQS goes."""
    dry_run: bool = False
    hold_s: int = 30
    """How long a received message stays invisible without a heartbeat (and after a crash)."""
    audit_path: Path | None = None


@dataclass
class ReplayReport:
    """What moved (or would move), what was skipped and why, what failed."""

    source: str
    destination: str
    dry_run: bool
    moved: list[dict[str, Any]] = field(default_factory=list)
    filtered: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON values, counts first."""
        return {
            "source": self.source,
            "destination": self.destination,
            "dry_run": self.dry_run,
            "counts": {
                "moved": len(self.moved),
                "skipped_by_filter": self.filtered,
                "skipped": len(self.skipped),
                "failed": len(self.failed),
            },
            "moved": self.moved,
            "skipped": self.skipped,
            "failed": self.failed,
        }


def replay(
    target: Target, name: str, options: ReplayOptions, progress: Progress | None = None
) -> ReplayReport:
    """Move the DLQ's matching messages to their destination; see the module docstring."""
    found = find(target, name)
    destination = resolve(target, options.to or home_queue(target, found.dlq))
    audit = None if options.dry_run else AuditLog.open(target, options.audit_path)
    report = ReplayReport(found.dlq.name, destination.name, options.dry_run)
    mover = _Mover(
        target,
        found=found,
        destination=destination,
        options=options,
        audit=audit,
        report=report,
    )
    if progress is not None:
        progress.start(depth(target, found.url))
    with Scanner(target.clients.sqs, found.url, hold_s=options.hold_s) as scan:
        for batch in scan.batches():
            chosen = [m for m in batch if mover.choose(m)]
            mover.move(scan, chosen)
            if progress is not None:
                progress.advance(len(batch))
            if mover.full:
                break
    return report


class _Mover:
    """The per-message decisions of one replay, and the send-audit-delete sequence."""

    def __init__(
        self,
        target: Target,
        *,
        found: OpenDlq,
        destination: Destination,
        options: ReplayOptions,
        audit: AuditLog | None,
        report: ReplayReport,
    ) -> None:
        self.clients = target.clients
        self.source = found.dlq.name
        self.destination = destination
        self.options = options
        self.audit = audit
        self.report = report
        self.chosen = 0
        self.blocked_groups: set[str] = set()
        self.bucket = TokenBucket(options.rate, batch_size(options.rate)) if options.rate else None

    @property
    def full(self) -> bool:
        """True once ``--max`` messages were chosen."""
        return self.options.limit is not None and self.chosen >= self.options.limit

    def choose(self, message: DlqMessage) -> bool:
        """Whether to move it; the others stay held, and are released when the pass ends."""
        verdict = self.options.filter.verdict(message)
        if verdict == FILTERED:
            self.report.filtered += 1
            return False
        if verdict is not None:
            self.report.skipped.append({"message_id": message.message_id, "reason": verdict})
            return False
        if self.full:
            return False
        self.chosen += 1
        return True

    def move(self, scan: Scanner, messages: list[DlqMessage]) -> None:
        """Send in batches, then audit and delete exactly what was sent."""
        size = batch_size(self.options.rate)
        for start in range(0, len(messages), size):
            chunk = messages[start : start + size]
            if self.options.dry_run:
                self.report.moved += [_row(m) for m in chunk]
                continue
            for call in self._calls(chunk):
                self._move_chunk(scan, call)

    def _calls(self, chunk: list[DlqMessage]) -> list[list[DlqMessage]]:
        """The batch calls for ``chunk``: one, or for a FIFO destination, as many as it takes
        to send at most one message of each group per call, each group's in order.

        SQS and SNS accept or refuse each entry of a batch on its own. Two messages of one
        group in one call could see the first refused and the second accepted, overtaking
        it; one per call lets a refusal block the rest of its group before they are sent.
        A one-group DLQ therefore replays one message per call.
        """
        if not self.destination.fifo:
            return [chunk]
        calls: list[list[DlqMessage]] = []
        queued: Counter[str | None] = Counter()
        for message in chunk:
            turn = queued[message.group_id]
            if message.group_id:  # no group (from a standard DLQ): no order to keep
                queued[message.group_id] += 1
            if turn == len(calls):
                calls.append([])
            calls[turn].append(message)
        return calls

    def _move_chunk(self, scan: Scanner, chunk: list[DlqMessage]) -> None:
        blocked = [m for m in chunk if m.group_id in self.blocked_groups]
        for message in blocked:
            self._fail(message, "an earlier message of its FIFO group failed to send")
        chunk = [m for m in chunk if m not in blocked]
        if not chunk:
            return
        if self.bucket is not None:
            self.bucket.take(len(chunk))
        refused = self.destination.send(
            self.clients, [Outgoing.replay_of(m, self.source) for m in chunk]
        )
        sent = [m for m in chunk if m.message_id not in refused]
        for message in chunk:
            if message.message_id in refused:
                self._fail(message, f"send failed: {refused[message.message_id]}")
                if message.group_id:
                    self.blocked_groups.add(message.group_id)
        assert self.audit is not None
        self.audit.record([self._entry(m) for m in sent])
        kept = scan.delete(sent)
        for message in sent:
            if message in kept:
                self._fail(message, "sent, but SQS refused the delete: it is in both queues")
            else:
                self.report.moved.append(_row(message))

    def _fail(self, message: DlqMessage, reason: str) -> None:
        self.report.failed.append({"message_id": message.message_id, "reason": reason})

    def _entry(self, message: DlqMessage) -> AuditEntry:
        return AuditEntry(
            "replay",
            self.source,
            self.destination.name,
            message.message_id,
            message.envelope_id,
            message.failure.get("reason"),
        )


def _row(message: DlqMessage) -> dict[str, Any]:
    env = message.envelope or {}
    return {
        "message_id": message.message_id,
        "envelope_id": env.get("id"),
        "type": env.get("type"),
        "group_id": message.group_id,
        "reason": message.failure.get("reason"),
    }
