"""Paced sends and patient waits: how a demo keeps moto's queues shallow and knows it is done."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def paced(count: int, rate: float, send: Callable[[int], T], *, threads: int = 4) -> list[T]:
    """``send(0) .. send(count - 1)`` at about ``rate`` a second, on ``threads``; the results.

    The sandbox's moto server slows down as its queues deepen (a send costs about 6 ms on
    an empty queue and half a second at a depth of 4000), so traffic at a steady rate below
    what it sustains, about 10 a second for a demo, keeps them shallow and the run fast.
    """
    start = time.monotonic()

    def on_time(index: int) -> T:
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return send(index)

    with ThreadPoolExecutor(threads, thread_name_prefix="client") as pool:
        return list(pool.map(on_time, range(count)))


def wait_until(
    done: Callable[[], bool],
    timeout_s: float,
    tick: Callable[[], None] | None = None,
    every_s: float = 0.1,
) -> bool:
    """Poll ``done`` until it holds or time runs out; ``tick`` runs between polls."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return True
        if tick is not None:
            tick()
        time.sleep(every_s)
    return done()
