"""One snapshot of the pipeline: a row per worker, and which of its figures an alarm fires on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sluice import thresholds
from sluice.runtime import Source, WorkerSpec

CONTAINER = "container"


@dataclass(frozen=True, slots=True)
class Figures:
    """What a worker did lately (per minute), from CloudWatch or the sandbox log."""

    processed: float | None = None
    failed: float | None = None
    dead_lettered: float | None = None
    """Sent straight to the DLQ by the worker (permanent failures); redrives show as DLQ depth."""
    duplicates: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    """Invocation (batch) time, as Lambda's Duration metric measures it."""
    concurrency: float | None = None
    errors: float | None = None
    """Failed invocations in the newest period (the errors alarm's figure)."""
    throttles: float | None = None
    age_s: float | None = None
    """Oldest message on the queue, or how far a stream worker is behind (AWS only)."""


@dataclass(frozen=True, slots=True)
class Depth:
    """A worker queue's depth and its DLQs' (None: the queue does not exist)."""

    visible: int | None = None
    in_flight: int | None = None
    dlq: int | None = None


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """One line of ``sluice top``."""

    worker: str
    source: str
    depth: Depth
    figures: Figures
    alarms: tuple[str, ...] = field(default=())
    """The fields an alarm fires on now: ``dlq``, ``age``, ``failed``, ``concurrency``."""

    def to_json(self) -> dict[str, Any]:
        """A flat dict for ``--once --json``."""
        return {
            "worker": self.worker,
            "source": self.source,
            **asdict(self.depth),
            **asdict(self.figures),
            "alarms": list(self.alarms),
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every worker at one moment."""

    at: float
    where: str
    rows: tuple[WorkerRow, ...]
    window_s: int

    def to_json(self) -> dict[str, Any]:
        """The ``--once --json`` document."""
        return {
            "at": self.at,
            "where": self.where,
            "window_s": self.window_s,
            "workers": [r.to_json() for r in self.rows],
        }


def source_label(spec: WorkerSpec) -> str:
    """``sns-queue``, ``sqs-queue``, ``fifo-queue``, ``dynamodb-stream``, or ``container``."""
    if str(getattr(spec, "runtime", "")) == CONTAINER:
        return CONTAINER
    return spec.source.value


def row(spec: WorkerSpec, depth: Depth, figures: Figures) -> WorkerRow:
    """A worker's row, with the alarms its figures would fire."""
    return WorkerRow(
        spec.name, source_label(spec), depth, figures, tuple(breaches(spec, depth, figures))
    )


def breaches(spec: WorkerSpec, depth: Depth, figures: Figures) -> list[str]:
    """The figures over the thresholds the CDK alarms use (``sluice.thresholds``)."""
    found = []
    if depth.dlq is not None and depth.dlq > thresholds.DLQ_VISIBLE:
        found.append("dlq")
    limit = thresholds.ITERATOR_AGE_S if spec.source is Source.STREAM else thresholds.QUEUE_AGE_S
    if figures.age_s is not None and figures.age_s > limit:
        found.append("age")
    if figures.errors is not None and figures.errors > thresholds.FUNCTION_ERRORS:
        found.append("failed")
    if figures.throttles is not None and figures.throttles > thresholds.FUNCTION_THROTTLES:
        found.append("concurrency")
    return found
