"""What a simulation run saw: backlog per hop and latency percentiles over time, the fate of
every event, a JSON summary, a plot (matplotlib, imported only to draw) and a table."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from sluice.tools.tables import print_table

if TYPE_CHECKING:
    from rich.console import Console

WINDOW_S = 10.0
"""Latency percentiles are taken over windows of this many seconds."""


def percentile(samples: list[tuple[float, float]], share: float) -> float | None:
    """The weighted percentile of (value, weight) samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    total = sum(w for _, w in ordered)
    running = 0.0
    for value, weight in ordered:
        running += weight
        if running >= share * total:
            return value
    return ordered[-1][0]


@dataclass
class Timeline:
    """Counters and series a run fills in."""

    duration: float
    events: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    copies: Counter[str] = field(default_factory=Counter)
    dead_by: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    latencies: list[tuple[float, float, float]] = field(default_factory=list)
    """(finished at, latency, events)."""
    series: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    first_done: float | None = None
    last_done: float = 0.0

    def entered(self, n: float) -> None:
        self.events["entered"] += n

    def refused(self, n: float) -> None:
        self.events["refused"] += n

    def throttled(self, units: float) -> None:
        self.events["throttled_units"] += units

    def duplicate(self, n: float) -> None:
        self.events["duplicates"] += n

    def dead(self, n: float, where: str, *, first: bool) -> None:
        self.dead_by[where] += n
        if first:
            self.events["dlq"] += n

    def done(self, event: Any, now: float) -> None:
        self.events["done"] += event.n
        self.latencies.append((now, now - event.born, event.n))
        self.first_done = self.first_done if self.first_done is not None else now
        self.last_done = now

    def backlog(self, now: float, depths: dict[str, float]) -> None:
        self.series.append((now, depths))

    def result(self, waiting: dict[str, int], lot: float, platform: str) -> Result:
        return Result(self, waiting, lot, platform)


@dataclass
class Result:
    """A finished run."""

    timeline: Timeline
    waiting: dict[str, int]
    """Copies still on each worker's queue at the end."""
    lot: float
    platform: str

    @property
    def in_flight(self) -> float:
        """Events entered and neither done, dead-lettered nor refused."""
        e = self.timeline.events
        return e["entered"] - e["done"] - e["dlq"] - e["refused"]

    def windows(self) -> list[dict[str, Any]]:
        """Per window: p50 and p99 latency of the events done in it, and the backlog."""
        grouped: dict[int, list[tuple[float, float]]] = defaultdict(list)
        for at, latency, n in self.timeline.latencies:
            grouped[int(at // WINDOW_S)].append((latency, n))
        depth: dict[int, dict[str, float]] = {}
        for at, depths in self.timeline.series:
            depth[int((at - 1e-9) // WINDOW_S)] = depths
        found = []
        for index in range(math.ceil(self.timeline.duration / WINDOW_S)):
            samples = grouped.get(index, [])
            found.append(
                {
                    "t": (index + 1) * WINDOW_S,
                    "done": sum(n for _, n in samples),
                    "p50_s": percentile(samples, 0.5),
                    "p99_s": percentile(samples, 0.99),
                    "backlog": depth.get(index, {}),
                }
            )
        return found

    def summary(self) -> dict[str, Any]:
        """The JSON summary."""
        t = self.timeline
        every = [(latency, n) for _, latency, n in t.latencies]
        span = (t.last_done - (t.first_done or 0.0)) if t.latencies else 0.0
        return {
            "platform": self.platform,
            "events_per_lot": self.lot,
            "events": {k: round(v, 3) for k, v in t.events.items()},
            "in_flight": round(self.in_flight, 3),
            "copies": dict(t.copies),
            "still_queued_copies": self.waiting,
            "dead_lettered_by": dict(t.dead_by),
            "throughput_per_s": t.events["done"] / span if span > 0 else None,
            "makespan_throughput_per_s": t.events["done"] / t.last_done if t.last_done else None,
            "p50_s": percentile(every, 0.5),
            "p99_s": percentile(every, 0.99),
            "windows": self.windows(),
        }


def write_outputs(result: Result, out: Path) -> tuple[Path, Path]:
    """``OUT.png`` (backlog and p99 against time, a line per hop) and ``OUT.json``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = out.with_suffix(".json")
    summary.write_text(json.dumps(result.summary(), indent=2) + "\n")
    png = out.with_suffix(".png")
    plot(result, png)
    return png, summary


def plot(result: Result, path: Path) -> None:
    """Draw the run (matplotlib's Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    hops = sorted({name for _, depths in result.timeline.series for name in depths})
    times = [at for at, _ in result.timeline.series]
    for hop in hops:
        top.plot(times, [d.get(hop, 0.0) for _, d in result.timeline.series], label=hop)
    top.set_ylabel("backlog (events)")
    top.legend(loc="upper right", fontsize="small")
    windows = [w for w in result.windows() if w["p99_s"] is not None]
    bottom.plot([w["t"] for w in windows], [w["p99_s"] for w in windows], label="end to end p99")
    bottom.plot([w["t"] for w in windows], [w["p50_s"] for w in windows], label="end to end p50")
    bottom.set_ylabel("latency (s)")
    bottom.set_xlabel("simulated time (s)")
    bottom.legend(loc="upper right", fontsize="small")
    top.set_title(f"sluice capacity --simulate ({result.platform}, {result.lot:g} events per lot)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def show_timeline(result: Result, console: Console) -> None:
    """Backlog and latency per window, then the fate of every event."""
    windows = result.windows()
    hops = sorted({name for w in windows for name in w["backlog"]})
    table = Table(title="simulated, per 10 s", title_justify="left")
    for column in ("t", "done", "p50", "p99", *hops):
        table.add_column(column, justify="right")
    for w in windows:
        table.add_row(
            f"{w['t']:g}",
            f"{w['done']:,.0f}",
            _seconds(w["p50_s"]),
            _seconds(w["p99_s"]),
            *(f"{w['backlog'].get(h, 0):,.0f}" for h in hops),
        )
    print_table(console, table, whole=("t",))
    s = result.summary()
    e = s["events"]
    console.print(
        f"entered {e.get('entered', 0):,.0f}: done {e.get('done', 0):,.0f}, dead-lettered "
        f"{e.get('dlq', 0):,.0f}, refused {e.get('refused', 0):,.0f}, in flight "
        f"{s['in_flight']:,.0f}; p50 {_seconds(s['p50_s'])}, p99 {_seconds(s['p99_s'])}"
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g} s"
