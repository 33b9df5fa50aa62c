"""Faults for the chaos suite, injected only where a deployment can plug things in.

Record-level faults are ``sluice.runtime.Middleware`` (what ``SLUICE_MIDDLEWARE`` loads);
AWS-level faults are botocore event handlers, in ``hooks.py``. Every choice is a
deterministic hash of a seed and the record, so a failing run can be repeated.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from typing import Any

from sluice.core import Envelope
from sluice.runtime import Middleware, PermanentError, RetryableError


def share(seed: int, *parts: object) -> float:
    """A stable number in [0, 1) for ``parts``: the same record gets the same fate every run."""
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def event_key(event_type: str, data: Any) -> str:
    """What poison is keyed on: the event type and its order, known before the event exists."""
    order_id = data.get("order_id") if isinstance(data, dict) else getattr(data, "order_id", "")
    return f"{event_type}:{order_id}"


class Counts:
    """A thread-safe counter of injected faults."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, key: str, count: int = 1) -> None:
        """Count ``count`` more of ``key``."""
        with self._lock:
            self.counts[key] += count

    def total(self) -> int:
        """Everything counted."""
        return sum(self.counts.values())


class _FirstTime(Middleware):
    """Picks a share of (worker, event) pairs, each only the first time it runs."""

    kind = ""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate, self.seed = rate, seed
        self.injected = Counts()
        self._fired: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def fires(self, worker: str, envelope: Envelope[Any]) -> bool:
        """True if this pair is chosen and has not been hit before (then it counts)."""
        key = (worker, envelope.id)
        if share(self.seed, self.kind, *key) >= self.rate:
            return False
        with self._lock:
            if key in self._fired:
                return False
            self._fired.add(key)
        self.injected.add(worker)
        return True


class TransientFaults(_FirstTime):
    """The first attempt of a share of (worker, event) pairs fails with RetryableError."""

    kind = "transient"

    def __init__(self, rate: float, seed: int = 1) -> None:
        super().__init__(rate, seed)

    def before_record(self, worker: str, envelope: Envelope[Any]) -> None:
        """Fail the record if chosen and not tried before."""
        if self.fires(worker, envelope):
            raise RetryableError("injected transient failure")


POISON_RATE = 0.02
"""Share of events that are poison (the suite's rate, also used by tests/chaos/host.py)."""


class PoisonFaults(Middleware):
    """A share of events fail permanently in every worker (reason ``poison``) while enabled."""

    def __init__(self, rate: float, seed: int = 2) -> None:
        self.rate, self.seed = rate, seed
        self.enabled = True
        """Set False to "fix the cause" before replaying the DLQs."""
        self.injected = Counts()

    def is_poison(self, event_type: str, data: Any) -> bool:
        """Whether this event is (or will be) poison."""
        return share(self.seed, "poison", event_key(event_type, data)) < self.rate

    def before_record(self, worker: str, envelope: Envelope[Any]) -> None:
        """Refuse poison for good."""
        if self.enabled and self.is_poison(envelope.type, envelope.data):
            self.injected.add(worker)
            raise PermanentError(f"injected poison in {envelope.type}", reason="poison")


class Crash(BaseException):
    """The process dies: escapes ``except Exception`` so nothing settles or is deleted."""


class CrashFaults(_FirstTime):
    """After a chosen record's effect committed, the invocation dies (once per record)."""

    kind = "crash"

    def __init__(self, rate: float, seed: int = 3) -> None:
        super().__init__(rate, seed)

    def after_record(self, worker: str, envelope: Envelope[Any], error: Exception | None) -> None:
        """Crash after a successful, chosen record, the first time only."""
        if error is None and self.fires(worker, envelope):
            raise Crash(f"injected crash in {worker} after {envelope.id}")
