"""The replay audit log: one JSON line per message moved (who, when, what, from where, to where)."""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sluice.ops.errors import OpsError
from sluice.target import Target, state_dir

AUDIT_FILE = "replay-audit.jsonl"


def default_path() -> Path:
    """``.sluice/replay-audit.jsonl`` (the directory follows ``SLUICE_STATE_DIR``)."""
    return state_dir() / AUDIT_FILE


def operator(target: Target) -> str:
    """Who is acting: the STS caller identity on AWS, the local user on the sandbox."""
    if target.local:
        return f"local:{getpass.getuser()}"
    try:
        return str(target.clients.client("sts").get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError) as exc:
        raise OpsError(
            f"cannot tell who you are for the audit log (sts:GetCallerIdentity failed: {exc}); "
            "nothing was moved"
        ) from None


@dataclass(frozen=True)
class AuditEntry:
    """One moved message."""

    action: str
    source: str
    destination: str
    message_id: str
    envelope_id: str | None
    detail: str | None = None


class AuditLog:
    """Append-only JSONL; every write is flushed and fsynced before the caller deletes anything."""

    def __init__(self, path: Path, who: str) -> None:
        self.path = path
        self.operator = who
        self.path.parent.mkdir(parents=True, exist_ok=True)

    @classmethod
    def open(cls, target: Target, path: Path | None = None) -> AuditLog:
        """The log at ``path`` (default ``.sluice/replay-audit.jsonl``) for this operator,
        checked to take lines before anything moves."""
        where = path or default_path()
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            where.open("a", encoding="utf-8").close()
        except OSError as exc:
            raise OpsError(
                f"cannot append to the audit log {where}: {exc.strerror or exc}; nothing was moved"
            ) from None
        return cls(where, operator(target))

    def record(self, entries: list[AuditEntry]) -> None:
        """Append one line per entry, durably."""
        if not entries:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        lines = "".join(
            json.dumps(self._line(now, e), separators=(",", ":")) + "\n" for e in entries
        )
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())

    def _line(self, now: str, entry: AuditEntry) -> dict[str, Any]:
        line: dict[str, Any] = {
            "time": now,
            "operator": self.operator,
            "action": entry.action,
            "source": entry.source,
            "destination": entry.destination,
            "message_id": entry.message_id,
            "envelope_id": entry.envelope_id,
        }
        if entry.detail:
            line["detail"] = entry.detail
        return line
