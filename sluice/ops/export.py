"""Export a DLQ to JSONL (a copy, or ``move`` to drain it), import JSONL back, purge with a backup.

A line holds everything a replay needs: body, original attributes, FIFO group, and where and
when it failed. Nothing leaves a queue before its line is on disk.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sluice.ops.audit import AuditEntry, AuditLog
from sluice.ops.destinations import Destination, Outgoing, resolve
from sluice.ops.dlqs import find
from sluice.ops.errors import OpsError
from sluice.ops.inspect import PEEK_HOLD_S
from sluice.ops.messages import (
    DlqMessage,
    attributes_from_json,
    attributes_to_json,
    envelope_doc,
)
from sluice.ops.scan import Scanner
from sluice.publisher import pack
from sluice.target import Target, state_dir

_BATCH = 10


@dataclass
class ImportReport:
    """Lines sent, and lines skipped with the reason."""

    destination: str
    sent: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


def export(
    target: Target,
    name: str,
    path: Path,
    *,
    move: bool = False,
    audit: Path | None = None,
    action: str = "export-move",
) -> int:
    """Append every message of the DLQ to ``path``; ``move`` deletes each once it is written."""
    found = find(target, name)
    log = AuditLog.open(target, audit) if move else None
    count = 0
    hold = 60 if move else PEEK_HOLD_S
    with _append(path) as out, Scanner(target.clients.sqs, found.url, hold_s=hold) as scan:
        for batch in scan.batches():
            out.write("".join(json.dumps(_line(found.dlq.name, m)) + "\n" for m in batch))
            out.flush()
            os.fsync(out.fileno())
            count += len(batch)
            if log is not None:
                log.record(
                    [
                        AuditEntry(action, found.dlq.name, str(path), m.message_id, m.envelope_id)
                        for m in batch
                    ]
                )
                scan.delete(batch)
    return count


def _append(path: Path) -> IO[str]:
    """The export file, opened to append before any message is received, or an OpsError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a")
    except OSError as exc:
        raise OpsError(f"cannot append to {path}: {exc.strerror or exc}") from None


def backup_path(name: str) -> Path:
    """Where ``purge`` writes its backup: ``.sluice/backups/<dlq>-<utc time>.jsonl``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return state_dir() / "backups" / f"{name}-{stamp}.jsonl"


def purge(target: Target, name: str, *, backup: Path | None, audit: Path | None = None) -> int:
    """Delete every message (each one written to ``backup`` first, unless it is None)."""
    if backup is not None:
        return export(target, name, backup, move=True, audit=audit, action="purge")
    found = find(target, name)
    log = AuditLog.open(target, audit)
    count = 0
    with Scanner(target.clients.sqs, found.url, hold_s=60) as scan:
        for batch in scan.batches():
            log.record(
                [
                    AuditEntry("purge", found.dlq.name, "-", m.message_id, m.envelope_id)
                    for m in batch
                ]
            )
            count += len(batch) - len(scan.delete(batch))
    return count


def import_file(target: Target, path: Path, to: str, *, audit: Path | None = None) -> ImportReport:
    """Send every well-formed line of ``path`` to ``to``; malformed lines are skipped, with why."""
    destination = resolve(target, to)
    log = AuditLog.open(target, audit)
    report = ImportReport(destination.name)
    pending: list[Outgoing] = []
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                pending.append(_outgoing(raw, number, path))
            except ValueError as exc:
                report.skipped.append({"line": number, "reason": str(exc)})
                continue
            if len(pending) == _BATCH:
                _send(
                    target,
                    destination=destination,
                    batch=pending,
                    log=log,
                    report=report,
                    path=path,
                )
                pending = []
    if pending:
        _send(target, destination=destination, batch=pending, log=log, report=report, path=path)
    return report


def _send(
    target: Target,
    *,
    destination: Destination,
    batch: list[Outgoing],
    log: AuditLog,
    report: ImportReport,
    path: Path,
) -> None:
    """Send in calls packed as the publisher packs them (10 entries, 256 KiB at most); a
    call that fails costs only its own lines."""
    for chunk in pack(batch):
        try:
            refused = destination.send(target.clients, chunk)
        except Exception as exc:  # this call's lines are reported failed; others stand
            refused = {o.key: f"{type(exc).__name__}: {exc}" for o in chunk}
        sent = [o for o in chunk if o.key not in refused]
        report.sent += len(sent)
        report.failed += [
            {"line": int(key.split(":")[-1]), "reason": why} for key, why in refused.items()
        ]
        log.record(
            [
                AuditEntry("import", str(path), destination.name, o.key, _envelope_id(o.body))
                for o in sent
            ]
        )


def _line(source: str, message: DlqMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "source": source,
        "body": message.body,
        "attributes": attributes_to_json(message.original_attributes),
        "failure": message.failure,
        "group_id": message.group_id,
        "sent_timestamp": message.system.get("SentTimestamp"),
        "envelope_id": message.envelope_id,
    }


def _outgoing(raw: bytes, number: int, path: Path) -> Outgoing:
    """One export line -> a message to send, or ValueError saying what is wrong with it."""
    try:
        doc = json.loads(raw.decode())
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, or nested too deep
        raise ValueError(f"line {number}: not JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("body"), str):
        raise ValueError(
            f"line {number}: needs a string 'body' (write lines with `sluice dlq export`)"
        )
    try:
        attributes = attributes_from_json(doc.get("attributes") or {})
        _sendable(doc["body"], attributes)
    except ValueError as exc:
        raise ValueError(f"line {number}: {exc}") from None
    group = doc.get("group_id")
    return Outgoing(
        key=f"{doc.get('message_id') or '-'}:{number}",
        body=doc["body"],
        attributes=attributes,
        group_id=group if isinstance(group, str) else None,
        dedup_seed=f"import|{doc.get('source')}|{doc.get('message_id')}|{doc.get('sent_timestamp')}",
    )


def _sendable(body: str, attributes: dict[str, Any]) -> None:
    """ValueError for text SQS and SNS cannot take (a lone surrogate is no Unicode)."""
    texts = [body, *attributes, *(str(a.get("StringValue", "")) for a in attributes.values())]
    for text in texts:
        try:
            text.encode()
        except UnicodeEncodeError:
            raise ValueError("a lone surrogate escape (e.g. \\ud800) is no Unicode text") from None


def _envelope_id(body: str) -> str | None:
    doc, _ = envelope_doc(body)
    return str(doc["id"]) if doc else None
