"""The sandbox's one merged log: JSON lines into a file, pretty lines on a terminal.

Workers log through Powertools (their Telemetry stream is a ``LogSink``); the sandbox's own
hops (API requests, poller invocations) go through ``LogSink.event``. Every line is stamped
with ``ts`` (epoch seconds) so ``sluice trace`` can order and time the hops.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from sluice.runtime import Telemetry
from sluice.runtime.telemetry import BatchCounts

Listener = Callable[[dict[str, Any]], None]
LEVEL_STYLES = {"ERROR": "bold red", "WARNING": "yellow", "INFO": "", "DEBUG": "dim"}
QUIET_KEYS = {
    "level",
    "location",
    "settled",
    "message",
    "timestamp",
    "service",
    "worker",
    "ts",
    "correlation_id",
    "sampling_rate",
    "xray_trace_id",
    "exception_name",
    "stack_trace",
}


class LogSink:
    """A thread-safe text stream that fans each JSON line out to file, console and listeners."""

    def __init__(self, path: Path | None, console: Console | None = None) -> None:
        self.path = path
        self.console = console
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # one run per file, flushed line by line: `sluice trace` and `top` read it live
            self._file = path.open("w", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()
        self._partial = ""
        self.listeners: list[Listener] = []

    def write(self, text: str) -> int:
        """Accept Powertools output: one or more JSON lines."""
        with self._lock:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
        for line in lines:
            if line.strip():
                self._line(line)
        return len(text)

    def flush(self) -> None:
        """Flush the file."""
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def event(self, message: str, *, worker: str, correlation_id: str, **fields: Any) -> None:
        """Log one sandbox hop (API request, poller invocation) as a structured line."""
        record = {
            "level": fields.pop("level", "INFO"),
            "message": message,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "service": "sandbox",
            "worker": worker,
            "correlation_id": correlation_id,
            "ts": time.time(),
            **fields,
        }
        self._emit(record)

    def close(self) -> None:
        """Flush and close the file."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _line(self, line: str) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            record = {"level": "INFO", "message": line, "service": "sandbox", "worker": "-"}
        if not isinstance(record, dict):
            record = {"level": "INFO", "message": line, "service": "sandbox", "worker": "-"}
        record.setdefault("ts", time.time())
        record.setdefault("worker", record.get("service", "-"))
        record.setdefault("correlation_id", "-")
        self._emit(record)

    def _emit(self, record: dict[str, Any]) -> None:
        text = json.dumps(record, default=str, separators=(",", ":"))
        with self._lock:
            if self._file is not None:
                self._file.write(text + "\n")
        for listener in self.listeners:
            listener(record)
        if self.console is not None:
            self.console.print(pretty(record), soft_wrap=True, highlight=False)


def pretty(record: dict[str, Any]) -> Text:
    """One log record as a short coloured terminal line."""
    stamp = datetime.fromtimestamp(float(record.get("ts", 0)), UTC).strftime("%H:%M:%S.%f")[:-3]
    level = str(record.get("level", "INFO"))
    line = Text(f"{stamp} ", style="dim")
    line.append(_printable(f"{record.get('worker', '-'):<10} "), style="cyan")
    line.append(_printable(f"{str(record.get('correlation_id', '-'))[:8]:<8} "), style="magenta")
    line.append(_printable(str(record.get("message", ""))), style=LEVEL_STYLES.get(level, ""))
    rest = {k: v for k, v in record.items() if k not in QUIET_KEYS}
    if rest:
        line.append(_printable(" " + " ".join(f"{k}={v}" for k, v in rest.items())), style="dim")
    return line


def _printable(text: str) -> str:
    """``text`` as a terminal takes it: a lone surrogate, which JSON may escape in a body
    (a correlation id, say), shown as ``\\udXXXX`` instead of failing the write."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class Streams:
    """Where each worker logger's handlers wrote before a sandbox pointed them at its sink.

    Powertools keeps one logger per service (worker) name in a process, so a second sandbox
    in one process takes its workers' lines; ``restore`` gives them back when it stops.
    """

    saved: dict[logging.StreamHandler[Any], Any]

    def restore(self) -> None:
        """Point each handler back at the stream it had."""
        for handler, stream in self.saved.items():
            handler.setStream(stream)


def worker_streams(names: Iterable[str]) -> Streams:
    """The current streams of the named workers' loggers."""
    handlers = (h for name in names for h in logging.getLogger(name).handlers)
    return Streams({h: h.stream for h in handlers if isinstance(h, logging.StreamHandler)})


class LoggedMetrics(Telemetry):
    """Telemetry whose per-batch metrics become one log line instead of an EMF document."""

    @property
    def wants_counts(self) -> bool:
        """Always: the sandbox logs every batch's counts (the tally and `sluice top` read them)."""
        return True

    def emit(self, counts: BatchCounts) -> None:
        """Log the batch's figures (the sandbox has no CloudWatch to read EMF)."""
        self.logger.info("batch metrics", extra={"metrics": asdict(counts)})
