"""Put a snapshot together: queue depths every refresh, figures from the log or CloudWatch."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sluice.runtime import WorkerSpec
from sluice.target import Target
from sluice.tools.top.cloudwatch import WINDOW_S as CLOUDWATCH_WINDOW_S
from sluice.tools.top.cloudwatch import CloudWatchFigures
from sluice.tools.top.logwindow import LogWindow
from sluice.tools.top.queues import QueueDepths
from sluice.tools.top.rows import Figures, Snapshot, row

FigureSource = Callable[[list[WorkerSpec], float], dict[str, Figures]]


class Watcher:
    """Takes snapshots of one deployment; CloudWatch is asked at most every ``metrics_every_s``."""

    def __init__(
        self,
        target: Target,
        figures: FigureSource,
        *,
        window_s: int,
        metrics_every_s: float = 0,
        workers: list[str] | None = None,
    ) -> None:
        self.target = target
        self.depths = QueueDepths(target.clients.sqs, target.topology)
        self.figures = figures
        self.window_s = window_s
        self.metrics_every_s = metrics_every_s
        specs = target.topology.registry.specs
        unknown = sorted(set(workers or ()) - {s.name for s in specs})
        if unknown:
            known = ", ".join(s.name for s in specs)
            raise LookupError(f"no worker named {', '.join(unknown)}; the workers are: {known}")
        self.specs = [s for s in specs if not workers or s.name in workers]
        self._last: tuple[float, dict[str, Figures]] | None = None

    def snapshot(self, now: float | None = None) -> Snapshot:
        """Every worker's row, now."""
        now = time.time() if now is None else now
        if self._last is None or now - self._last[0] >= self.metrics_every_s:
            self._last = (now, self.figures(self.specs, now))
        figures = self._last[1]
        rows = tuple(
            row(spec, self.depths.of(spec), figures.get(spec.name, Figures()))
            for spec in self.specs
        )
        return Snapshot(now, self.target.where, rows, self.window_s)


def local_watcher(target: Target, log_file: Path, workers: list[str] | None = None) -> Watcher:
    """The sandbox: its queues over HTTP and its log, read afresh each refresh."""
    window = LogWindow(log_file)
    return Watcher(
        target,
        lambda specs, now: window.read(now, [s.name for s in specs]),
        window_s=window.window_s,
        workers=workers,
    )


def aws_watcher(
    target: Target, metrics_every_s: float, workers: list[str] | None = None
) -> Watcher:
    """AWS: queue attributes each refresh, one GetMetricData every ``metrics_every_s``."""
    reader = CloudWatchFigures(target.clients.client("cloudwatch"), target.topology)
    return Watcher(
        target,
        lambda specs, now: reader.read(specs, datetime.fromtimestamp(now, UTC)),
        window_s=CLOUDWATCH_WINDOW_S,
        metrics_every_s=metrics_every_s,
        workers=workers,
    )
