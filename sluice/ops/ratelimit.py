"""A token bucket, so a replay never sends faster than ``--rate N/s``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from sluice.ops.errors import FilterError

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*s)?\s*$")


def parse_rate(text: str | None) -> float | None:
    """``100/s`` or ``100`` -> 100.0; None means unlimited."""
    if text is None:
        return None
    match = _RATE.match(text)
    if not match or float(match.group(1)) <= 0:
        raise FilterError(f"--rate {text!r} must be a positive number per second, e.g. 100/s")
    return float(match.group(1))


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up (the largest burst)."""

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = 0.0
        self._at = clock()

    def take(self, count: int) -> None:
        """Block until ``count`` tokens (<= capacity) are there, then spend them."""
        if count > self.capacity:
            raise ValueError(f"cannot take {count} tokens from a bucket of {self.capacity}")
        while True:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= count:
                self._tokens -= count
                return
            self._sleep((count - self._tokens) / self.rate)


def batch_size(rate: float | None) -> int:
    """Messages per send: 10 (the SQS/SNS limit), or a tenth of the rate when that is less,
    so that no one-second window holds more than ``rate`` + 10% sends."""
    return 10 if rate is None else max(1, min(10, int(rate // 10)))
