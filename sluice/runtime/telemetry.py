"""Structured logs with per-record correlation keys, and EMF metrics per worker."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from aws_lambda_powertools.logging.logger import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

NAMESPACE = "Sluice"
TRACING_ENV = "SLUICE_TRACING"
WORKER_DIMENSION = "worker"


_JSON_STARTS = frozenset('{["-0123456789tfnNI')
"""The first characters a JSON document may have (``NaN`` and ``Infinity`` as Python reads them)."""


def message_as_json(message: str) -> Any:
    """What Powertools makes of a log message: the JSON it holds, else the text.

    Powertools tries ``json.loads`` on every message, and for a message that is not JSON (most
    are: "record finished") pays for the exception it catches, a fifth of a log line. A
    message whose first character no JSON value starts with is returned as it is.
    """
    first = message[:1]
    if first in _JSON_STARTS or first.isspace():
        try:
            return json.loads(message)
        except ValueError:
            pass
    return message


def _sole_handler(std: logging.Logger, handler: logging.Handler) -> bool:
    """Whether ``handler`` is all a record of ``std`` reaches: no filter, no other handler
    on it or on a parent it propagates to."""
    if std.disabled or std.filters or std.handlers != [handler] or handler.level > logging.INFO:
        return False
    parent = std.parent if std.propagate else None
    while parent is not None:
        if parent.handlers:
            return False
        parent = parent.parent if parent.propagate else None
    return True


def metric_dimensions(worker: str) -> dict[str, str]:
    """A worker's metric dimensions on Lambda (Powertools adds ``service``, the worker name)."""
    return {"service": worker, WORKER_DIMENSION: worker}


@dataclass
class BatchCounts:
    """What one invocation did, reported as one set of metrics."""

    processed: int = 0
    failed: int = 0
    duplicates: int = 0
    permanent: int = 0
    skipped_for_time: int = 0
    lease_lost: int = 0
    """Completions refused because the lease had been taken over or given up."""
    oldest_age_ms: int | None = None

    def saw_age(self, age_ms: int | None) -> None:
        """Keep the oldest message age seen in the batch."""
        if age_ms is not None and (self.oldest_age_ms is None or age_ms > self.oldest_age_ms):
            self.oldest_age_ms = age_ms


@dataclass
class Telemetry:
    """One worker's logger and metrics; the correlation keys are set per record and thread."""

    worker: str
    logger: Logger
    metrics_enabled: bool = True
    tracing: bool = False
    """X-Ray subsegments per record. Off by default: Tracer costs ~140 ms of cold start."""
    tracer: Any = field(default=None, repr=False)

    @classmethod
    def for_worker(
        cls, worker: str, *, stream: IO[str] | None = None, tracing: bool | None = None
    ) -> Telemetry:
        """A JSON logger whose ``service`` is the worker name; tracing if SLUICE_TRACING=true."""
        logger = Logger(
            service=worker,
            stream=stream,
            # typed str -> str by Powertools; it passes the text and takes any JSON value back
            json_deserializer=message_as_json,  # type: ignore[arg-type]
            worker=worker,
        )
        if stream is not None:
            # Powertools keeps one handler per service name and ignores a later stream;
            # point it at this one, so the newest Telemetry for a worker decides.
            logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
        if tracing is None:
            tracing = os.environ.get(TRACING_ENV, "").lower() == "true"
        return cls(worker=worker, logger=logger, tracing=tracing)

    def info_each(self, message: str, lines: Sequence[Mapping[str, Any]]) -> None:
        """``logger.info(message, extra=line)`` for each of ``lines``, from the caller's place.

        The same JSON lines, formatted by the logger's own handler, written with one lock, one
        write and one flush rather than one each (sluice work logs each record it receives:
        per line that was ~60 us of the runner's CPU, most of it the lock its threads fight
        over). A logger that logs anywhere else as well (a buffer, a filter, another
        handler, a parent's) gets the lines one by one through ``info``.
        """
        std: logging.Logger = self.logger._logger
        handler: logging.StreamHandler[Any] = self.logger.registered_handler  # type: ignore[assignment]
        if not lines or not std.isEnabledFor(logging.INFO):
            return
        if getattr(self.logger, "_buffer_config", None) or not _sole_handler(std, handler):
            for line in lines:
                self.logger.info(message, extra=line, stacklevel=3)
            return
        caller = sys._getframe(1)
        where = (caller.f_code.co_filename, caller.f_lineno, caller.f_code.co_name)
        records = [
            std.makeRecord(
                std.name, logging.INFO, where[0], where[1], message, (), None, where[2], line
            )
            for line in lines
        ]
        text = "".join(handler.format(r) + handler.terminator for r in records if handler.filter(r))
        if not text:
            return
        handler.acquire()
        try:
            handler.stream.write(text)
            handler.flush()
        finally:
            handler.release()

    @property
    def wants_counts(self) -> bool:
        """Whether ``emit`` does anything with a batch's counts (EMF here)."""
        return self.metrics_enabled

    def record_scope(self, **keys: Any) -> AbstractContextManager[None]:
        """Every log line inside carries ``keys`` (correlation_id, event_id, event_type)."""
        return _RecordScope(self, keys)

    @contextmanager
    def _subsegment(self, keys: dict[str, Any]) -> Iterator[None]:
        if self.tracer is None:  # imported only when asked for: keeps cold starts small
            from aws_lambda_powertools.tracing import Tracer

            self.tracer = Tracer(service=self.worker)
        with self.tracer.provider.in_subsegment(name=f"## {self.worker} record") as segment:
            for name, value in keys.items():
                segment.put_annotation(key=name, value=str(value))
            yield

    def emit(self, counts: BatchCounts) -> None:
        """Flush one EMF document with the batch's figures, dimensioned by worker."""
        if not self.metrics_enabled:
            return
        metrics = EphemeralMetrics(namespace=NAMESPACE)
        metrics.add_dimension(name=WORKER_DIMENSION, value=self.worker)
        metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=counts.processed)
        metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=counts.failed)
        metrics.add_metric(name="Duplicates", unit=MetricUnit.Count, value=counts.duplicates)
        metrics.add_metric(name="PermanentFailures", unit=MetricUnit.Count, value=counts.permanent)
        if counts.skipped_for_time:
            metrics.add_metric(
                name="SkippedForTime", unit=MetricUnit.Count, value=counts.skipped_for_time
            )
        if counts.lease_lost:
            metrics.add_metric(name="LeaseLost", unit=MetricUnit.Count, value=counts.lease_lost)
        if counts.oldest_age_ms is not None:
            metrics.add_metric(
                name="MessageAge", unit=MetricUnit.Milliseconds, value=counts.oldest_age_ms
            )
        metrics.flush_metrics()


class _RecordScope:
    """``Telemetry.record_scope``: a plain class, as it runs once per record (no generator)."""

    __slots__ = ("_keys", "_segment", "_telemetry")

    def __init__(self, telemetry: Telemetry, keys: dict[str, Any]) -> None:
        self._telemetry, self._keys = telemetry, keys
        self._segment: AbstractContextManager[None] | None = None

    def __enter__(self) -> None:
        self._telemetry.logger.thread_safe_append_keys(**self._keys)
        if self._telemetry.tracing:
            try:
                self._segment = self._telemetry._subsegment(self._keys)
                self._segment.__enter__()
            except BaseException:
                self._telemetry.logger.thread_safe_clear_keys()
                raise

    def __exit__(self, *exc: Any) -> None:
        try:
            if self._segment is not None:
                self._segment.__exit__(*exc)
        finally:
            self._telemetry.logger.thread_safe_clear_keys()
