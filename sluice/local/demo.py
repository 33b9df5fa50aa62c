"""``sluice demo``: the whole pipeline on this machine, exercised and checked end to end."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from events import ORDER_CANCELLED, ORDER_PLACED
from sluice.local import report, scenario
from sluice.local.logs import LogSink
from sluice.local.sandbox import Sandbox
from sluice.local.scenario import Scenario
from sluice.local.traffic import Client, cancel, place_orders, wait_until

DRAIN_TIMEOUT_S = 40.0
RATE = 10.0
"""Orders per second: paced below what moto sustains, so queues stay shallow."""


class _Steps:
    """Prints each step above the live table once it is done, with how long it took."""

    def __init__(self, console: Console, progress: Progress) -> None:
        self.console = console
        self.progress = progress

    @contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        self.progress.stage = what.split(" (", maxsplit=1)[0] + " ..."
        began = time.perf_counter()
        yield
        self.console.print(f"[green]✓[/] {what} [dim]{time.perf_counter() - began:.1f} s[/]")


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


def expected(box: Sandbox, plan: Scenario) -> dict[str, int]:
    """Records each worker must have processed once everything is through."""
    per_type = {ORDER_PLACED: len(plan.placed), ORDER_CANCELLED: len(plan.cancelled)}
    out = {}
    for name, worker in box.workers.items():
        spec = worker.spec
        if spec.source.is_fifo:
            out[name] = len(plan.payments)
        elif spec.source.is_queue:
            out[name] = sum(n for kind, n in per_type.items() if spec.accepts(kind))
    return out


def drained(box: Sandbox, plan: Scenario, progress: Progress) -> bool:
    """Every worker processed what it must, the poison is dead-lettered, the queues are empty."""
    must = expected(box, plan)
    if any(box.tally.count(name, "processed") < n for name, n in must.items()):
        return False
    poisoned = [s.name for s in box.registry.subscribers(ORDER_PLACED)]
    if any(box.tally.count(name, "permanent") < 1 for name in poisoned):
        return False
    return all(queued == 0 for queued, _ in progress.depths().values())


def run(orders: int, console: Console, log_file: Path) -> bool:
    """Start the sandbox, send the traffic, wait for it to drain, print and check the result."""
    started = time.perf_counter()
    console.rule("[bold]Sluice demo[/]: the whole pipeline on this machine")
    console.print(
        "HTTP API -> DynamoDB -> stream -> relay -> SNS -> SQS (+DLQ) -> workers; FIFO ledger"
    )
    with Sandbox(sink=LogSink(log_file)) as box:
        console.print(
            f"moto server [cyan]{box.endpoint_url}[/]  API [cyan]{box.api_url}[/]  "
            f"started in {box.startup_s:.1f} s  log [cyan]{log_file}[/]"
        )
        plan, progress = Scenario(), Progress(box)
        assert box.clients is not None and box.provisioned is not None
        client = Client(box.api_url)
        with Live(progress, console=console, refresh_per_second=4, transient=True):
            step = _Steps(console, progress)
            with step(f"placed {orders} orders through POST /orders (paced at {RATE}/s)"):
                plan.orders = place_orders(client, orders, rate=RATE)
            with step("cancelled every 8th order through POST /orders/<id>/cancel"):
                for order in plan.orders[::8]:
                    cancel(client, order)
            with step("sent 9 payment.captured events to the FIFO ledger queue (3 accounts)"):
                ledger = box.topology.queues(box.registry.get("ledger").spec).queue
                scenario.publish_payments(box.clients.sqs, box.queue_url(ledger), plan)
            with step("published one poison event (negative quantity) to the topic"):
                scenario.publish_poison(box.clients.sns, box.provisioned.topic_arn, plan)
            with step("published one event twice (an SNS duplicate delivery)"):
                scenario.publish_duplicate(box.clients.sns, box.provisioned.topic_arn, plan)
            progress.stage = "waiting for the pipeline to drain ..."
            began = time.perf_counter()
            ok = wait_until(lambda: drained(box, plan, progress), DRAIN_TIMEOUT_S)
            took = f"[dim]{time.perf_counter() - began:.1f} s[/]"
            console.print(
                f"[green]✓[/] drained: every queue empty, every event accounted for {took}"
                if ok
                else f"[red]✗ not drained after {DRAIN_TIMEOUT_S:.0f} s[/]"
            )
            console.print()
        checks = report.checks(box, plan)
        letters = report.dead_letters(box)
        latencies = _latencies(box, plan)
    for table in report.summary(box, latencies, checks, letters):
        console.print(table)
    passed = ok and all(c.ok for c in checks)
    verdict = "[green bold]PASS[/]" if passed else "[red bold]FAIL[/]"
    console.print(
        f"{verdict} in {time.perf_counter() - started:.1f} s. "
        f"Follow one order: [cyan]sluice trace {plan.orders[-1].correlation_id}[/]"
    )
    return passed


def _latencies(box: Sandbox, plan: Scenario) -> list[float]:
    subscribers = [s.name for s in box.registry.subscribers(ORDER_PLACED)]
    out: list[float] = []
    for order in plan.orders:
        if order.cancelled:
            continue  # its cancel overwrote the completion times
        done = box.tally.done_at(order.correlation_id, subscribers)
        if done is not None:
            out.append(done - order.posted_at)
    return out
