"""``sluice demo``: start the sandbox, run the app's demo, wait for it to drain, check it all."""

from __future__ import annotations

import importlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from sluice.app import App
from sluice.demo import report
from sluice.demo.base import Demo
from sluice.demo.pacing import wait_until
from sluice.local.logs import LogSink
from sluice.local.sandbox import Sandbox
from sluice.runtime import ConfigurationError
from sluice.tools.tables import print_table

DRAIN_TIMEOUT_S = 40.0


def load_demo(app: App) -> Demo:
    """A fresh ``Demo`` from ``App.demo`` ("module:ClassName"), or an error saying what to set."""
    if not app.demo:
        raise ConfigurationError(
            f"the app {app.name!r} declares no demo: set App(demo='module:ClassName') to a "
            "sluice.demo.Demo subclass (see sluice/demo/base.py for what it provides)"
        )
    module_name, _, attribute = app.demo.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute or "", None)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(f"App.demo = {app.demo!r}: cannot import it ({exc})") from None
    if not (isinstance(found, type) and issubclass(found, Demo)):
        what = type(found).__name__ if found is not None else "nothing"
        raise ConfigurationError(
            f"App.demo = {app.demo!r} gives {what}, not a sluice.demo.Demo subclass: "
            "name one as 'module:ClassName'"
        )
    return found()


class Progress:
    """The live view: per worker, queue depth, records processed, duplicates, DLQ depth."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.stage = "starting"
        self._depths: dict[str, tuple[int, int]] = {}
        self._at = 0.0
        self._lock = threading.Lock()

    def depths(self) -> dict[str, tuple[int, int]]:
        """Queue and DLQ depths, asked at most twice a second."""
        with self._lock:
            if time.monotonic() - self._at > 0.5:
                self._depths, self._at = self.box.depths(), time.monotonic()
            return self._depths

    def __rich__(self) -> Group:
        table = Table(title=f"[bold]{self.stage}[/]", title_justify="left", min_width=70)
        for column in ("worker", "queued", "processed", "duplicates", "retried", "DLQ"):
            table.add_column(column, justify="left" if column == "worker" else "right")
        depths = self.depths()
        for name in sorted(self.box.workers):
            counts = self.box.tally.counts.get(name, Counter[str]())
            queued, dlq = depths.get(name, ("-", "-"))
            table.add_row(
                name,
                str(queued),
                *(str(counts.get(k, 0)) for k in ("processed", "duplicates", "failed")),
                str(dlq),
            )
        return Group(table)


class Steps:
    """The ``step`` a demo's ``send`` gets: prints each step once done, with its duration."""

    def __init__(self, console: Console, progress: Progress) -> None:
        self.console = console
        self.progress = progress

    @contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        """Time the block; show it as the live table's stage meanwhile."""
        self.progress.stage = what.split(" (", maxsplit=1)[0] + " ..."
        began = time.perf_counter()
        yield
        self.console.print(f"[green]✓[/] {what} [dim]{time.perf_counter() - began:.1f} s[/]")


def drained(box: Sandbox, demo: Demo, must: dict[str, int], progress: Progress) -> bool:
    """Every worker processed what it must, the demo is settled, and every queue is empty."""
    if any(box.tally.count(name, "processed") < n for name, n in must.items()):
        return False
    if not demo.settled(box):
        return False
    return all(queued == 0 for queued, _ in progress.depths().values())


def run(app: App, console: Console, log_file: Path, count: int | None = None) -> bool:
    """Start the sandbox, send the app's demo traffic, wait for it to drain, check the result."""
    demo = load_demo(app)
    sink = LogSink(log_file)  # a log it cannot write is an error before any output
    started = time.perf_counter()
    console.rule("[bold]Sluice demo[/]: the whole pipeline on this machine")
    if demo.flow:
        console.print(demo.flow)
    with Sandbox(app=app, sink=sink) as box:
        console.print(
            f"moto server [cyan]{box.endpoint_url}[/]  API [cyan]{box.api_url or '-'}[/]  "
            f"started in {box.startup_s:.1f} s  log [cyan]{log_file}[/]"
        )
        progress = Progress(box)
        with Live(progress, console=console, refresh_per_second=4, transient=True):
            demo.send(box, count or demo.default_count, Steps(console, progress))
            must = dict(demo.expected(box))
            progress.stage = "waiting for the pipeline to drain ..."
            began = time.perf_counter()
            ok = wait_until(lambda: drained(box, demo, must, progress), DRAIN_TIMEOUT_S)
            took = f"[dim]{time.perf_counter() - began:.1f} s[/]"
            console.print(
                f"[green]✓[/] drained: every queue empty, every event accounted for {took}"
                if ok
                else f"[red]✗ not drained after {DRAIN_TIMEOUT_S:.0f} s[/]"
            )
            console.print()
        checks = list(demo.checks(box))
        letters = report.dead_letters(box)
        timings = report.latencies(box, demo)
    for table in report.summary(box, demo, timings, checks, letters):
        print_table(console, table, whole=report.WHOLE)
    passed = ok and all(c.ok for c in checks)
    verdict = "[green bold]PASS[/]" if passed else "[red bold]FAIL[/]"
    follow = demo.follow()
    hint = f" Follow one {demo.unit}: [cyan]sluice trace {follow}[/]" if follow else ""
    # one line, never wrapped: the command in it is copied whole
    console.print(f"{verdict} in {time.perf_counter() - started:.1f} s.{hint}", soft_wrap=True)
    return passed
