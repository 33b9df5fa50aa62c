"""Replay a DLQ: send first, delete only after the send succeeded, audit every move.

Whatever happens (a crash included) each message is in the DLQ, in the destination, or in
both; a replay repeated after a crash is safe because downstream effects are keyed by the
envelope id, and FIFO destinations get a deterministic deduplication id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from threading import Event
from typing import Any, Protocol

from sluice.ops.audit import AuditEntry, AuditLog
from sluice.ops.destinations import Destination, Outgoing, resolve
from sluice.ops.dlqs import OpenDlq, depth, find, home_queue
from sluice.ops.filters import FILTERED, MessageFilter
from sluice.ops.messages import DlqMessage
from sluice.ops.ratelimit import TokenBucket, batch_size
from sluice.ops.scan import Scanner
from sluice.publisher import pack
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
    refused: list[dict[str, Any]] = field(default_factory=list)
    """Messages not trusted (a notice naming a bucket not the stack's): left in the queue."""
    entered: int = 0
    """Messages that entered the DLQ after the replay began (a replayed one that failed
    again, a new failure): not part of this run, left for the next."""
    interrupted: bool = False
    """Asked to stop (Ctrl-C) before the pass ended: what it held but had not sent was
    released, visible again at once."""

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
                "refused": len(self.refused),
            },
            "entered_during_replay": self.entered,
            "interrupted": self.interrupted,
            "moved": self.moved,
            "skipped": self.skipped,
            "failed": self.failed,
            "refused": self.refused,
        }


def replay(
    target: Target,
    name: str,
    options: ReplayOptions,
    progress: Progress | None = None,
    stop: Event | None = None,
) -> ReplayReport:
    """Move the DLQ's matching messages to their destination; see the module docstring.

    Once ``stop`` is set the replay ends between two calls: a send in flight is audited and
    deleted first, and what the pass still holds is released (visible again at once).

    A replay moves what the DLQ held when it began, each message at most once; a message
    whose SentTimestamp is later is left for the next run, and counted. Ids cannot tell
    them apart: a replayed message that fails again comes back under a new id (the replay
    sent a new message), but always with a later SentTimestamp: a worker's dead-letter is a
    new send, and SQS's redrive keeps the enqueue time of the copy the replay sent (on a
    standard DLQ) or resets it (on a FIFO one). The cut-off is this machine's clock, so a
    clock ahead of SQS's by more than a round trip through the worker could let one in.
    """
    began = datetime.now(UTC)
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
        stop=stop or Event(),
    )
    if progress is not None:
        progress.start(depth(target, found.url))
    with Scanner(target.clients.sqs, found.url, hold_s=options.hold_s) as scan:
        for batch in scan.batches():
            held = [m for m in batch if not _entered_since(m, began)]
            report.entered += len(batch) - len(held)
            chosen = [m for m in held if mover.choose(m)]
            mover.move(scan, chosen)
            if progress is not None:
                progress.advance(len(held))
            if mover.full or mover.stopped:
                break
    report.interrupted = mover.stopped
    return report


class _Stopped(Exception):
    """Asked to stop while waiting for the rate limit."""


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
        stop: Event,
    ) -> None:
        self.clients = target.clients
        self.source = found.dlq.name
        self.destination = destination
        self.options = options
        self.audit = audit
        self.report = report
        self.chosen = 0
        self.blocked_groups: set[str] = set()
        self.stop = stop
        self.bucket = None
        if options.rate:
            self.bucket = TokenBucket(options.rate, batch_size(options.rate), sleep=self._pause)

    @property
    def stopped(self) -> bool:
        """True once asked to stop: no further call is made."""
        return self.stop.is_set()

    def _pause(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopped

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
        """Send in calls packed as the publisher packs them, then audit and delete exactly
        what was sent.

        A call holds at most ``batch_size(rate)`` messages and 256 KiB. For a FIFO
        destination it also holds at most one message of each group, each group's in order:
        SQS and SNS accept or refuse each entry of a batch on its own, so two messages of
        one group in one call could see the first refused and the second accepted,
        overtaking it. The groups take turns, so that one call carries the first of each
        group, the next call the second... A one-group DLQ therefore replays one message
        per call; messages without a group (from a standard DLQ) have no order to keep.
        """
        if self.options.dry_run:
            self.report.moved += [_row(m) for m in messages]
            return
        fifo = self.destination.fifo
        outgoing = [Outgoing.replay_of(m, self.source) for m in _in_turns(messages, fifo)]
        held = {m.message_id: m for m in messages}
        calls = pack(outgoing, batch_size(self.options.rate), key=_call_key if fifo else None)
        for call in calls:
            if self.stopped:
                return  # the rest stays held, and is released when the pass ends
            try:
                self._move_call(scan, [(held[out.key], out) for out in call])
            except _Stopped:
                return

    def _move_call(self, scan: Scanner, call: list[tuple[DlqMessage, Outgoing]]) -> None:
        blocked = [m for m, _ in call if m.group_id in self.blocked_groups]
        for message in blocked:
            self._fail(message, "an earlier message of its FIFO group failed to send")
        call = [(m, out) for m, out in call if m not in blocked]
        if not call:
            return
        if self.bucket is not None:
            self.bucket.take(len(call))  # raises _Stopped if asked to stop meanwhile
        refused = self.destination.send(self.clients, [out for _, out in call])
        messages = [m for m, _ in call]
        sent = [m for m in messages if m.message_id not in refused]
        for message in messages:
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


def _entered_since(message: DlqMessage, began: datetime) -> bool:
    """Whether SQS took the message into the DLQ after ``began``."""
    sent = message.sent_at
    return sent is not None and sent > began


def _in_turns(messages: list[DlqMessage], fifo: bool) -> list[DlqMessage]:
    """For a FIFO destination, the first message of each group, then the second of each...
    (each group's in order); otherwise as they are."""
    if not fifo:
        return messages
    turns: Counter[str] = Counter()
    order: list[tuple[int, int, DlqMessage]] = []
    for position, message in enumerate(messages):
        turn = 0
        if message.group_id:  # no group (from a standard DLQ): no order to keep
            turn = turns[message.group_id]
            turns[message.group_id] += 1
        order.append((turn, position, message))
    return [message for _, _, message in sorted(order, key=lambda t: t[:2])]


def _call_key(out: Outgoing) -> str:
    """One message of a FIFO group per call; messages without a group are each their own."""
    return f"group:{out.group_id}" if out.group_id else f"message:{out.key}"


def _row(message: DlqMessage) -> dict[str, Any]:
    env = message.envelope or {}
    return {
        "message_id": message.message_id,
        "envelope_id": env.get("id"),
        "type": env.get("type"),
        "group_id": message.group_id,
        "reason": message.failure.get("reason"),
    }
