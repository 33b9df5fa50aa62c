"""``sluice top --local``: each worker's figures over the last minute of the sandbox log.

The sandbox logs one ``batch metrics`` line per invocation (what EMF reports on AWS), one
``invocation end`` line with its duration, and one ``queue delivered`` / ``stream
delivered`` line per record with the time it was sent or written. The file is read from
where the last refresh stopped, so a refresh costs only the new lines.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.tools.top.rows import Figures

WINDOW_S = 60


@dataclass(frozen=True, slots=True)
class _Seen:
    ts: float
    worker: str
    kind: str
    value: Any


class LogWindow:
    """The sandbox log's last ``window_s`` seconds, kept up to date by ``read``."""

    def __init__(self, path: Path, window_s: int = WINDOW_S) -> None:
        self.path = path
        self.window_s = window_s
        self._offset = 0
        self._seen: deque[_Seen] = deque()

    def read(self, now: float, workers: list[str]) -> dict[str, Figures]:
        """Take in the new lines, forget the old ones, and sum up each worker (idle: zeros)."""
        self._take_new()
        while self._seen and self._seen[0].ts < now - self.window_s:
            self._seen.popleft()
        return self._figures(workers)

    def _take_new(self) -> None:
        if not self.path.exists():
            return
        if self.path.stat().st_size < self._offset:  # a new sandbox run rewrote the log
            self._offset, self._seen = 0, deque()
        with self.path.open("rb") as log:
            log.seek(self._offset)
            for line in log:
                if not line.endswith(b"\n"):
                    break  # half written: read it next time
                self._offset += len(line)
                self._seen.extend(_facts(line))

    def _figures(self, workers: list[str]) -> dict[str, Figures]:
        per: dict[str, dict[str, list[Any]]] = {w: defaultdict(list) for w in workers}
        for seen in self._seen:
            if seen.worker in per:
                per[seen.worker][seen.kind].append(seen.value)
        return {worker: self._sum_up(kinds) for worker, kinds in per.items()}

    def _sum_up(self, kinds: dict[str, list[Any]]) -> Figures:
        rate = 60 / self.window_s
        counts: dict[str, float] = defaultdict(float)
        for metrics in kinds["metrics"]:
            for key in ("processed", "failed", "duplicates", "permanent"):
                counts[key] += metrics.get(key) or 0
        durations = sorted(kinds["duration"])
        ages = kinds["age"]
        return Figures(
            processed=counts["processed"] * rate,
            failed=counts["failed"] * rate,
            dead_lettered=counts["permanent"] * rate,
            duplicates=counts["duplicates"] * rate,
            p50_ms=_percentile(durations, 50),
            p95_ms=_percentile(durations, 95),
            concurrency=round(sum(durations) / (self.window_s * 1000), 2),
            errors=float(sum(kinds["error"])),
            throttles=None,
            age_s=round(max(ages), 1) if ages else None,
        )


def _facts(line: bytes) -> list[_Seen]:
    try:
        record = json.loads(line)
    except ValueError:
        return []
    if not isinstance(record, dict):
        return []
    ts, worker, message = (
        float(record.get("ts", 0)),
        str(record.get("worker")),
        record.get("message"),
    )
    if message == "batch metrics" and isinstance(record.get("metrics"), dict):
        return [_Seen(ts, worker, "metrics", record["metrics"])]
    if message == "invocation end":
        return [
            _Seen(ts, worker, "duration", float(record.get("duration_ms", 0))),
            _Seen(ts, worker, "error", 1 if record.get("error") else 0),
        ]
    sent = record.get("sent_ts") if message == "queue delivered" else record.get("written_ts")
    if message in ("queue delivered", "stream delivered") and sent is not None:
        return [_Seen(ts, worker, "age", ts - float(sent))]
    return []


def _percentile(ordered: list[float], pct: int) -> float | None:
    """Nearest-rank percentile of a sorted list."""
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)], 1)
