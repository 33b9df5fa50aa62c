"""Follow one request hop by hop: the sandbox log, or log records CloudWatch Logs found.

A request is named by its correlation id, by the id of any envelope it caused, or by any
other id a log line carries next to its correlation id (an id the API logged, say).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.runtime import ConfigurationError


@dataclass(frozen=True)
class Hop:
    """One step of a request's journey."""

    ts: float
    hop: str
    where: str
    outcome: str
    detail: str = ""


def read(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON records of a sandbox log (other lines are skipped)."""
    if not path.exists():
        raise ConfigurationError(
            f"no sandbox log at {path}: run `sluice up` or `sluice demo` first"
        )
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def correlation_ids(records: Iterable[dict[str, Any]], wanted: str) -> set[str]:
    """The requests ``wanted`` names: the value of a line's ``correlation_id``, ``event_id``
    or any other ``*id`` field (``resource_id``, an id the app logged)."""
    found = set()
    for record in records:
        cid = record.get("correlation_id")
        if cid and cid != "-" and any(k.endswith("id") and v == wanted for k, v in record.items()):
            found.add(str(cid))
    return found


def hops(records: Iterable[dict[str, Any]], correlation_id: str | set[str]) -> list[Hop]:
    """Every hop of one request (or of several), in time order."""
    wanted = {correlation_id} if isinstance(correlation_id, str) else correlation_id
    found: list[Hop] = []
    for record in records:
        if record.get("correlation_id") in wanted:
            found += list(_hops_of(record))
    return sorted(found, key=lambda h: h.ts)


def _hops_of(record: dict[str, Any]) -> Iterator[Hop]:
    ts = float(record.get("ts", 0))
    message = str(record.get("message", ""))
    worker = str(record.get("worker", "-"))
    if message == "api request":
        detail = f"{record.get('method')} {record.get('path')} -> {record.get('resource_id', '-')}"
        yield Hop(
            float(record.get("received_ts", ts)), "API", "http", str(record.get("status")), detail
        )
    elif message == "stream delivered":
        yield Hop(
            float(record["written_ts"]),
            "table write",
            f"{record.get('table')} table",
            str(record.get("event_name")),
            f"seq {record.get('sequence_number')}",
        )
        yield Hop(ts, "stream", worker, "delivered", f"attempt {record.get('attempt', 0)}")
    elif message == "queue delivered":
        queue = str(record.get("queue"))
        yield Hop(
            float(record["sent_ts"]),
            "enqueued",
            queue,
            "sent",
            "SNS delivery" if record.get("receive_count") == 1 else "redelivery",
        )
        yield Hop(ts, "queue", queue, "received", f"receive #{record.get('receive_count')}")
    elif "outcome" in record and record.get("service") == worker:
        reason = f" ({record['reason']})" if record.get("reason") else ""
        yield Hop(
            ts,
            "worker",
            worker,
            str(record["outcome"]),
            f"{record.get('duration_ms', '-')} ms{reason}",
        )
    elif record.get("service") != "sandbox":
        yield Hop(ts, _kind(worker, message), worker, str(record.get("level", "")).lower(), message)
    elif message in ("bisect", "checkpoint", "on-failure record sent"):
        yield Hop(ts, "stream", worker, message, f"seq {record.get('first')}..{record.get('last')}")


def _kind(worker: str, message: str) -> str:
    if worker == "api":
        return "API"
    if "publish" in message:
        return "SNS"
    return worker
