"""What every benchmark reports, and the small timing helpers they share."""

from __future__ import annotations

import io
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Row:
    """One line of the results table: Sluice against its peer, in one run."""

    name: str
    unit: str
    sluice: float
    """Sluice's median (in ``unit``)."""
    peer_name: str
    peer: float | None
    """The peer's median, or None where the figure has no peer (e.g. a startup time)."""
    target: str
    """The target in words, e.g. "ratio <= 0.2" or ">= 50 orders/s"."""
    met: bool | None
    """Whether the target was met; None when there is no target."""
    spread: str = ""
    """How noisy it was, e.g. "p25-p75 0.18-0.21" or "min-max ..."."""
    runs: int = 1
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Sluice / peer."""
        if self.peer in (None, 0):
            return None
        return self.sluice / self.peer  # type: ignore[operator]


def median_spread(samples: list[float]) -> tuple[float, str]:
    """The median and the interquartile range of ``samples`` as text."""
    ordered = sorted(samples)
    if len(ordered) < 4:
        return statistics.median(ordered), f"min-max {ordered[0]:.4g}-{ordered[-1]:.4g}"
    q = statistics.quantiles(ordered, n=4)
    return statistics.median(ordered), f"p25-p75 {q[0]:.4g}-{q[2]:.4g}"


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn``."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def interleaved(
    a: Callable[[], object], b: Callable[[], object], repeat: int
) -> tuple[list[float], list[float]]:
    """Time ``a`` and ``b`` alternately, so drift in machine load hits both alike; which
    side goes first alternates too, so neither always runs on a cache the other warmed."""
    first: list[float] = []
    second: list[float] = []
    for round_ in range(repeat):
        if round_ % 2:
            second += timed(b, 1)
            first += timed(a, 1)
        else:
            first += timed(a, 1)
            second += timed(b, 1)
    return first, second


def compare(
    name: str,
    unit: str,
    sluice: list[float],
    peer_name: str,
    peer: list[float],
    *,
    max_ratio: float | None,
    note: str = "",
) -> Row:
    """A Row from both sides' samples: medians, both spreads, and ``ratio <= max_ratio``."""
    ours, our_spread = median_spread(sluice)
    theirs, their_spread = median_spread(peer)
    row = Row(
        name=name,
        unit=unit,
        sluice=ours,
        peer_name=peer_name,
        peer=theirs,
        target=f"ratio <= {max_ratio:g}" if max_ratio is not None else "",
        met=None,
        spread=f"sluice {our_spread}; peer {their_spread}",
        runs=min(len(sluice), len(peer)),
        note=note,
    )
    if max_ratio is None or row.ratio is None:
        return row
    return replace(row, met=row.ratio <= max_ratio)


def scaled(samples: list[float], factor: float) -> list[float]:
    """``samples`` times ``factor`` (e.g. seconds per batch -> microseconds per record)."""
    return [s * factor for s in samples]


class NullStream(io.StringIO):
    """A text stream that keeps nothing: loggers still format, nobody pays for I/O."""

    def write(self, text: str) -> int:
        return len(text)


class CallCounter:
    """Counts the API calls a boto3 client makes, by operation, via ``before-call``; for
    DynamoDB also the capacity units each request consumes (``capacity``)."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.units: Counter[str] = Counter()
        service = client.meta.service_model.endpoint_prefix
        client.meta.events.register(f"before-call.{service}.*", self._count)
        if service == "dynamodb":
            client.meta.events.register(f"before-parameter-build.{service}.*", self._measure)

    def _count(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def _measure(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        self.units.update(capacity(event_name.rsplit(".", 1)[-1], params))

    def take(self) -> Counter[str]:
        """The calls counted since the last ``take``, and start again from zero."""
        taken, self.calls = self.calls, Counter()
        return taken

    def take_units(self) -> Counter[str]:
        """Read and write units since the last ``take_units``, and start again from zero."""
        taken, self.units = self.units, Counter()
        return taken


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values, in bytes."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return (len(str(inner).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in inner.items())
    return len(str(inner).encode())


def capacity(operation: str, params: dict[str, Any]) -> Counter[str]:
    """The read and write units one request consumes, by DynamoDB's published rules.

    A write costs 1 unit per KB of the item written (2 inside a transaction); a strongly
    consistent read costs 1 unit per 4 KB (half eventually consistent), charged per key a
    batch asks for even when the item is missing. Updates, deletes and condition checks
    are charged as 1 KB items (the items here are far smaller); a failed conditional write
    still consumes its units. moto reports no consumed capacity, hence the arithmetic.
    """
    units: Counter[str] = Counter()

    def kb(item: dict[str, Any]) -> int:
        return max(1, -(-item_size(item) // 1024))

    if operation == "PutItem":
        units["write"] += kb(params["Item"])
    elif operation in ("UpdateItem", "DeleteItem"):
        units["write"] += 1
    elif operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            put = entry.get("Put")
            units["write"] += 2 * (kb(put["Item"]) if put else 1)
    elif operation == "BatchWriteItem":
        for requests in params["RequestItems"].values():
            for request in requests:
                put = request.get("PutRequest")
                units["write"] += kb(put["Item"]) if put else 1
    elif operation == "GetItem":
        units["read"] += 1 if params.get("ConsistentRead") else 0.5  # type: ignore[assignment]
    elif operation == "BatchGetItem":
        for wanted in params["RequestItems"].values():
            each = 1 if wanted.get("ConsistentRead") else 0.5
            units["read"] += each * len(wanted["Keys"])  # type: ignore[assignment]
    return units
