"""The visibility heartbeat: records still in progress stay invisible, up to a hard cap.

Every third of the queue's visibility timeout, each tracked message's visibility is set
back to the full timeout, and ``renew`` is called as often, on a thread of its own so that a
slow renewal never delays an extension, to do the same for what else must stay in step
with it (``sluice work``'s idempotency leases), so a job of any length up to
``cap_s`` is never delivered a second time, nor run by a copy, while it runs. Past the cap
the heartbeat lets the message go: it reappears when its last extension runs out, for
another consumer (or the DLQ) to deal with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sluice.runtime.sqs_event import change_visibility

Log = Callable[..., None]


class Heartbeat:
    """Extends the visibility of tracked receipt handles on a thread of its own."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        *,
        visibility_s: int,
        cap_s: float,
        warn: Log,
        renew: Callable[[], None] = lambda: None,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.visibility_s = visibility_s
        self.cap_s = cap_s
        self.period_s = max(0.2, visibility_s / 3)
        self.extensions = 0
        """Messages extended so far (a metric)."""
        self.released = 0
        """Messages let go at the cap."""
        self._warn = warn
        self._renew = renew
        self._held: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._renewer = threading.Thread(target=self._renewing, name="renew", daemon=True)

    def start(self) -> Heartbeat:
        """Start extending."""
        self._thread.start()
        self._renewer.start()
        return self

    def stop(self) -> None:
        """Stop extending (the tracked messages keep their last visibility)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def track(self, handles: Sequence[str]) -> None:
        """Keep these messages invisible from now on (they were just received)."""
        now = time.monotonic()
        with self._lock:
            for handle in handles:
                self._held[handle] = now

    def untrack(self, handles: Sequence[str]) -> None:
        """Stop extending these (settled, or handed back)."""
        with self._lock:
            for handle in handles:
                self._held.pop(handle, None)

    def held(self) -> list[str]:
        """The receipt handles still tracked."""
        with self._lock:
            return list(self._held)

    def beat(self) -> None:
        """One round: extend what is under the cap, let go what is over it."""
        now = time.monotonic()
        with self._lock:
            due = [h for h, since in self._held.items() if now - since < self.cap_s]
            over = [h for h, since in self._held.items() if now - since >= self.cap_s]
            for handle in over:
                del self._held[handle]
        if over:
            self.released += len(over)
            self._warn("heartbeat cap reached; the message is let go", count=len(over))
        if due:
            try:
                self.extensions += change_visibility(
                    self.sqs, self.queue_url, due, self.visibility_s
                )
            except Exception as exc:  # the next round tries again, well inside the timeout
                self._warn("visibility heartbeat failed", error=f"{type(exc).__name__}: {exc}")

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.beat()

    def _renewing(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self._renew()
            except Exception as exc:  # the next round tries again, inside the lease
                self._warn("lease renewal failed", error=f"{type(exc).__name__}: {exc}")
