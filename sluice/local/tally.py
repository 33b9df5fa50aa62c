"""Live counts from the merged log: outcomes per worker and when each request finished."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

from sluice.runtime import Registry, Source
from sluice.topology import Topology

FINAL = ("done", "duplicate", "permanent")


class Tally:
    """A log listener that counts record outcomes and marks per-request completion."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.finished: dict[str, dict[str, float]] = defaultdict(dict)
        """correlation id -> worker -> when its record finished (done, duplicate, DLQ)."""
        self.received: dict[str, float] = {}
        """correlation id -> when the API received the request."""
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any]) -> None:
        outcome = record.get("outcome")
        worker = str(record.get("worker", "-"))
        cid = str(record.get("correlation_id", "-"))
        with self._lock:
            if outcome is not None and record.get("service") == worker:
                self.outcomes[worker][str(outcome)] += 1
                if outcome in FINAL and cid != "-":
                    self.finished[cid][worker] = float(record["ts"])
            elif record.get("message") == "api request" and cid != "-":
                self.received.setdefault(cid, float(record.get("received_ts", record["ts"])))

    def count(self, worker: str, outcome: str) -> int:
        """How many records of ``worker`` ended with ``outcome``."""
        with self._lock:
            return self.outcomes[worker][outcome]

    def done_at(self, correlation_id: str, workers: list[str]) -> float | None:
        """When the last of ``workers`` finished the request, or None if one has not yet."""
        with self._lock:
            seen = self.finished.get(correlation_id, {})
            if not all(w in seen for w in workers):
                return None
            return max(seen[w] for w in workers)


def subscribed(registry: Registry, event_type: str) -> list[str]:
    """The SNS-fed workers an event of ``event_type`` reaches."""
    return [s.name for s in registry.subscribers(event_type)]


def queue_names(topology: Topology) -> dict[str, tuple[str, str]]:
    """Each queue worker's (queue, dlq) names."""
    out = {}
    for spec in topology.registry.specs:
        if spec.source is not Source.STREAM:
            names = topology.queues(spec)
            out[spec.name] = (names.queue, names.dlq)
    return out
