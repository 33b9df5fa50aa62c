"""Live counts from the merged log: outcomes per worker and when each request finished."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

from sluice.runtime import Source
from sluice.topology import Topology

FINAL = ("done", "duplicate", "permanent")
COUNTED = ("processed", "duplicates", "permanent", "failed")


class Tally:
    """A log listener: per-worker batch metrics, and per-request completion times."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        """worker -> processed / duplicates / permanent / failed records (from batch metrics)."""
        self.finished: dict[str, dict[str, float]] = defaultdict(dict)
        """correlation id -> worker -> when its record last finished (done, duplicate, DLQ)."""
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any]) -> None:
        worker = str(record.get("worker", "-"))
        if record.get("message") == "invocation end":
            self._settled(worker, record.get("settled") or (), float(record["ts"]))
        if record.get("service") != worker:
            return
        with self._lock:
            if record.get("message") == "batch metrics":
                figures = record.get("metrics") or {}
                for name in COUNTED:
                    self.counts[worker][name] += int(figures.get(name) or 0)
            elif record.get("outcome") in FINAL and record.get("correlation_id", "-") != "-":
                self.finished[str(record["correlation_id"])][worker] = float(record["ts"])

    def _settled(self, worker: str, correlation_ids: Any, ts: float) -> None:
        """Records the event source deleted: done, even if the engine found them duplicates."""
        with self._lock:
            for cid in correlation_ids:
                if cid != "-":
                    self.finished[str(cid)].setdefault(worker, ts)

    def count(self, worker: str, name: str) -> int:
        """How many records of ``worker`` were ``name`` (processed, duplicates, ...)."""
        with self._lock:
            return self.counts[worker][name]

    def done_at(self, correlation_id: str, workers: list[str]) -> float | None:
        """When the last of ``workers`` finished the request, or None if one has not yet."""
        with self._lock:
            seen = self.finished.get(correlation_id, {})
            if not all(w in seen for w in workers):
                return None
            return max(seen[w] for w in workers)


def queue_names(topology: Topology) -> dict[str, tuple[str, str]]:
    """Each queue worker's (queue, dlq) names."""
    out = {}
    for spec in topology.registry.specs:
        if spec.source is not Source.STREAM:
            names = topology.queues(spec)
            out[spec.name] = (names.queue, names.dlq)
    return out
