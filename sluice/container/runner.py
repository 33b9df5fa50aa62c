"""``sluice work``: receive, run through the worker's own engine, settle, drain on SIGTERM.

Each receive (up to ten messages, long polling) becomes one Lambda-shaped SQS event and goes
through ``Worker.handler``, the very entry a Lambda calls: decoding, idempotency, partial
failures, permanent errors to the DLQ, backoff by receive count and FIFO groups are the
engine's. The runner adds what a long-lived consumer owes its queue:

- ``concurrency`` records running at most, from ``ceil(concurrency / 10)`` receivers (a
  batch's places are free again once the engine is done with it, while its deletes go out);
- a visibility heartbeat for the records in flight (``heartbeat``), capped at the worker's
  ``max_job_s``, that extends each record's idempotency lease with its visibility, so no
  copy of a long job can start beside it;
- successes deleted; failures left to the engine's backoff; a record that fails before the
  engine sees it (a log line that cannot read its body) still goes to the engine, whose
  decoding dead-letters it with the reason: nothing stops a receiver or keeps a slot;
- on ``stop()`` (SIGTERM): no new receive (a long poll is never longer than the drain, so
  every receiver is back before anything is handed back, and none takes a handed-back
  record again); records received or in flight keep running while ``drain_s`` allows;
  what is left is handed back (``handback``), counted, and its leases abandoned, so another
  task runs it at once;
- ECS scale-in protection while anything is in flight, renewed while it stays busy
  (``protection``);
- a health file touched after every receive (``health``).

A crash (SIGKILL) leaves received messages invisible until their last extension runs out;
they come back then, and the idempotency leases keep every effect to one.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from sluice.container.handback import hand_back, max_receives
from sluice.container.health import HealthFile
from sluice.container.heartbeat import Heartbeat
from sluice.container.protection import ScaleInProtection
from sluice.container.slots import Slots
from sluice.runtime import Worker
from sluice.runtime.engine.batch import idempotency_store
from sluice.runtime.engine.ordering import share_pool
from sluice.runtime.idempotency import Held
from sluice.runtime.sqs_event import (
    LONG_POLL_MAX_S,
    RECEIVE_ATTRIBUTES,
    correlation_of,
    delete_messages,
    lambda_record,
    queue_arn_of,
)
from sluice.runtime.telemetry import NAMESPACE
from sluice.runtime.types import SqsRecord

PER_RECEIVE = 10
"""SQS's most messages per ReceiveMessage."""
REPORT_S = 10.0
"""How often the in-flight and heartbeat figures are reported."""


@dataclass(frozen=True, slots=True)
class WorkSettings:
    """How ``sluice work`` consumes; the worker's declaration gives the rest."""

    concurrency: int = 10
    """Records running at once (across receivers); a batch's deletes hold no place."""
    wait_s: int = LONG_POLL_MAX_S
    """Long-poll wait per receive (SQS's most)."""
    drain_s: float = 30.0
    """After SIGTERM, how long records in flight get to finish (ECS waits 30 s by default)."""


class RunContext:
    """What the engine reads as the Lambda ``context``, one per batch.

    The remaining time is the queue's visibility timeout (an idempotency lease lasts that
    long and the heartbeat renews it with the visibility, so a crashed task's leases lapse as
    its messages come back), and once draining, what is left of the drain: records start
    while they can still finish in it. The engine keeps each lease it holds in
    ``sluice_claims`` (key -> owner), for the heartbeat to renew and the drain to abandon,
    and the records it did not start in ``sluice_not_started``, for the drain to hand back.
    """

    def __init__(self, runner: Runner, handles: list[str]) -> None:
        self._runner = runner
        self.handles = handles
        self.sluice_claims: dict[str, str] = {}
        self.sluice_not_started: set[str] = set()

    def get_remaining_time_in_millis(self) -> int:
        """While draining, what is left of the drain if a whole record fits in it (else 0:
        nothing more starts); otherwise the visibility timeout."""
        return self._runner.remaining_ms()


class Runner:
    """Consumes one worker's queue until ``stop()``; ``run()`` returns when drained."""

    def __init__(
        self,
        worker: Worker,
        sqs: Any,
        queue_url: str,
        *,
        region: str,
        settings: WorkSettings | None = None,
        protection: ScaleInProtection | None = None,
        health: HealthFile | None = None,
    ) -> None:
        self.worker = worker
        self.spec = worker.spec
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn_of(queue_url, region)
        self._queue_name = queue_url.rsplit("/", 1)[-1]
        self.region = region
        self.settings = settings or WorkSettings()
        self.protection = protection or ScaleInProtection(None)
        self.health = health or HealthFile(None)
        self.log = worker.deps.telemetry.logger
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
        )["Attributes"]
        self.visibility_s = int(attrs["VisibilityTimeout"])
        self.max_receives = max_receives(attrs)
        self.heartbeat = Heartbeat(
            sqs,
            queue_url,
            visibility_s=self.visibility_s,
            cap_s=self.spec.max_job_s,
            warn=self._warn,
            renew=self._renew_leases,
        )
        self.store = idempotency_store(self.spec, worker.deps)
        self.in_flight = 0
        self.batches = 0
        self.leases_lost = 0
        """Leases the heartbeat found taken over or given up (a metric)."""
        self._reported_extensions = 0
        self._reported_leases_lost = 0
        self.stopping = False
        self._drain_ends = 0.0
        self._poll_s = min(self.settings.wait_s, max(1, math.floor(self.settings.drain_s)))
        """A receive's long poll: never longer than the drain, so it is over before the drain
        hands anything back."""
        self._messages: dict[str, dict[str, Any]] = {}
        """Every message received and not yet settled, by receipt handle. Whoever takes a
        handle out of it, under ``_handover``, settles that message: a batch or the drain."""
        self._handover = threading.Lock()
        self._stop = threading.Event()
        self._count = threading.Condition()
        self._slots = Slots(self.settings.concurrency)
        self._per_receive = min(PER_RECEIVE, self.spec.batch_size, self.settings.concurrency)
        receivers = max(1, math.ceil(self.settings.concurrency / self._per_receive))
        self._receivers = [
            threading.Thread(target=self._receive_loop, name=f"receive-{i}", daemon=True)
            for i in range(receivers)
        ]
        self._pool = ThreadPoolExecutor(self.settings.concurrency, f"work-{self.spec.name}")
        # every batch's records on one pool: places bound them to ``concurrency`` in all
        share_pool(
            self.spec.name,
            ThreadPoolExecutor(self.settings.concurrency, f"records-{self.spec.name}"),
        )
        self._running: set[RunContext] = set()
        """The contexts of the batches in flight (their claims, should the drain give up)."""

    def stop(self) -> None:
        """Begin the drain (what SIGTERM does); safe from a signal handler."""
        if not self.stopping:
            self._drain_ends = time.monotonic() + self.settings.drain_s
        self.stopping = True
        self._stop.set()

    def remaining_ms(self) -> int:
        """What a batch may still use: the visibility timeout; while draining, what is left
        of the drain if the worker's whole timeout fits in it, else 0 (nothing new starts
        that could not finish)."""
        if not self.stopping:
            return self.visibility_s * 1000
        left = int((self._drain_ends - time.monotonic()) * 1000)
        return left if left >= self.spec.timeout_s * 1000 else 0

    def run(self) -> bool:
        """Consume until ``stop()``, then drain; True if nothing was left unfinished."""
        self.heartbeat.start()
        for thread in self._receivers:
            thread.start()
        self.log.info(
            "work started",
            extra={
                "queue": self.queue_url,
                "receivers": len(self._receivers),
                "concurrency": self.settings.concurrency,
                "visibility_s": self.visibility_s,
            },
        )
        while not self._stop.wait(REPORT_S):
            self.tick()
        return self._drain()

    def tick(self) -> None:
        """The periodic round: renew scale-in protection while busy, report the figures."""
        self._busy(0)
        self._report()

    def _drain(self) -> bool:
        """Finish what was received within ``drain_s``; hand the rest back, counted."""
        deadline = self._drain_ends
        back_by = time.monotonic() + self._poll_s + 1  # every long poll began before the stop
        for thread in self._receivers:
            thread.join(timeout=max(0.0, back_by - time.monotonic()))
        with self._count:
            while self.in_flight and time.monotonic() < deadline:
                self._count.wait(timeout=max(0.0, deadline - time.monotonic()))
            left = self.in_flight
        with self._handover:
            held = self.heartbeat.held()
            unfinished = [m for m in (self._messages.pop(h, None) for h in held) if m]
        handed_back = 0
        try:
            self.heartbeat.stop()
            if unfinished:
                self._abandon_claims()  # first: a copy received at once finds no lease
            handed_back = hand_back(
                self.sqs,
                self.queue_url,
                unfinished,
                limit=self.max_receives,
                fifo=self.spec.source.is_fifo,
                warn=self._warn,
            ).total
        except Exception as exc:  # they come back when their last extension runs out
            self._warn("records not handed back", error=f"{type(exc).__name__}: {exc}")
        finally:
            self.protection.update(False)
            self._report()
            self.log.info(
                "work stopped",
                extra={"records_in_flight": left, "handed_back": handed_back},
            )
            self._pool.shutdown(wait=False, cancel_futures=True)
        return not unfinished and not left

    def _receive_loop(self) -> None:
        while not self._stop.is_set():
            taken = self._slots.take(self._per_receive, timeout=0.5)
            if not taken:
                continue
            try:
                messages = self._receive(taken)
            except Exception as exc:  # SQS unreachable or throttling: try again shortly
                self._release(taken)
                self._warn("receive failed", error=f"{type(exc).__name__}: {exc}")
                self._stop.wait(1.0)
                continue
            self.health.beat()
            self._release(taken - len(messages))
            if not messages:
                continue
            # received as the drain began too: it runs while the drain allows, so the
            # receive it cost is not wasted; the drain hands back what it cannot finish
            self._accept(messages)
            self._pool.submit(self._process, messages)

    def _accept(self, messages: list[dict[str, Any]]) -> None:
        """Received: in flight, kept invisible, and unsettled until a batch or the drain
        settles each one."""
        for message in messages:
            self._messages[message["ReceiptHandle"]] = message
        self.heartbeat.track([m["ReceiptHandle"] for m in messages])
        self._busy(len(messages))

    def _receive(self, count: int) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=self._poll_s,
            **RECEIVE_ATTRIBUTES,
        )
        return list(answer.get("Messages", []))

    def _process(self, messages: list[dict[str, Any]]) -> None:
        handles = [m["ReceiptHandle"] for m in messages]
        started = time.perf_counter()
        places = len(messages)
        try:
            records = [lambda_record(m, self.queue_arn, self.region) for m in messages]
            correlations = {r["messageId"]: correlation_of(r) for r in records}
            self._delivered(records, correlations)
            failed, not_started = self._invoke(records, handles)
            # run: the next receive may take their places while these are settled
            self._release(places)
            places = 0
            # A record the drain did not start stays for the drain to hand back, counted,
            # once every receiver is back; a record that ran keeps the engine's verdict.
            kept = not_started if self.stopping else set()
            ours = self._take([r["receiptHandle"] for r in records if r["messageId"] not in kept])
            done = [
                r for r in records if r["messageId"] not in failed and r["receiptHandle"] in ours
            ]
            for record in delete_messages(self.sqs, self.queue_url, done):
                self._warn("delete failed", message_id=record["messageId"])
            self.log.info(
                "invocation end",
                extra={
                    "records": len(records),
                    "failed": len(failed),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "settled": [correlations[r["messageId"]] for r in done],
                },
            )
        except Exception:  # never lose the thread; SQS keeps what was not deleted
            self.log.exception("batch could not be settled; SQS delivers it again")
            self._take(handles)
        finally:
            self.batches += 1
            self._busy(-len(messages))
            self._release(places)

    def _take(self, handles: list[str]) -> set[str]:
        """Settle these messages here (the drain has not taken them): untracked and
        forgotten; returns those that were still ours."""
        with self._handover:
            ours = {h for h in handles if self._messages.pop(h, None) is not None}
        self.heartbeat.untrack(list(ours))
        return ours

    def _delivered(self, records: list[SqsRecord], correlations: dict[str, str]) -> None:
        """One line per record received: the hop ``sluice trace`` shows, as on Lambda's
        (``correlation_of`` reads any body without raising: the engine decides what it is)."""
        now_ms = time.time() * 1000
        lines = []
        for record in records:
            attrs = record["attributes"]
            sent = int(attrs.get("SentTimestamp", now_ms))
            lines.append(
                {
                    "correlation_id": correlations[record["messageId"]],
                    "queue": self._queue_name,
                    "message_id": record["messageId"],
                    "receive_count": int(attrs.get("ApproximateReceiveCount", 1)),
                    "sent_ts": sent / 1000,
                    "queued_ms": round(now_ms - sent, 1),
                }
            )
        self.worker.deps.telemetry.info_each("queue delivered", lines)

    def _invoke(self, records: list[SqsRecord], handles: list[str]) -> tuple[set[str], set[str]]:
        """The worker's Lambda entry: the failed message ids, and of those the ones it did
        not start. A raised invocation fails every record, as on Lambda."""
        context = RunContext(self, handles)
        self._running.add(context)
        try:
            answer = self.worker.handler({"Records": records}, context)
        except Exception:
            self.log.exception("invocation raised; every record of it will be retried")
            return {r["messageId"] for r in records}, set()
        finally:
            self._running.discard(context)
        failures = (answer or {}).get("batchItemFailures") or []
        return {str(f["itemIdentifier"]) for f in failures}, context.sluice_not_started

    def _abandon_claims(self) -> None:
        """Give up the leases of the records handed back unfinished, so their copies run at
        once instead of waiting out a lease no one will complete.

        The process exits right after the drain (``sluice work`` leaves without joining the
        threads), so this is the moment a crash would have let the leases lapse anyway. A
        record that completes meanwhile keeps its completion: a lease is given up only while
        this holder still holds it.
        """
        leases = {k: o for context in list(self._running) for k, o in _leases(context).items()}
        if not leases or self.store is None:
            return
        try:
            forgotten = self.store.abandon(leases)
        except Exception as exc:  # they lapse with the visibility timeout instead
            self._warn("claims not abandoned", error=f"{type(exc).__name__}: {exc}")
            return
        self.log.info("claims abandoned", extra={"claims": forgotten})

    def _renew_leases(self) -> None:
        """With every visibility extension: each batch still under the heartbeat's cap has
        its leases moved to the same end as its messages' visibility."""
        if self.store is None:
            return
        held = set(self.heartbeat.held())
        until_ms = int(time.time() * 1000) + self.visibility_s * 1000
        for context in list(self._running):
            if not held.intersection(context.handles):
                continue  # let go at the cap: its leases lapse with its messages
            for key, owner in _leases(context).items():
                try:
                    answer = self.store.extend(key, owner, until_ms)
                except Exception as exc:  # the next round tries again, inside the lease
                    self._warn("lease not extended", error=f"{type(exc).__name__}: {exc}")
                    continue
                if answer is not Held.HELD:
                    context.sluice_claims.pop(key, None)
                if answer is Held.LOST:
                    self.leases_lost += 1
                    self._warn("lease lost; its completion will be refused", key=key)

    def _busy(self, delta: int) -> None:
        """Count records in and out of flight; protection follows, under the same lock, so
        a stale count never releases it while busy."""
        with self._count:
            self.in_flight += delta
            self._count.notify_all()
            self.protection.update(self.in_flight > 0)

    def _release(self, count: int) -> None:
        self._slots.give(count)

    def _warn(self, message: str, **fields: Any) -> None:
        self.log.warning(message, extra=fields)

    def _report(self) -> None:
        """In-flight count and heartbeat extensions: a log line, and EMF where metrics are on."""
        extensions = self.heartbeat.extensions - self._reported_extensions
        self._reported_extensions += extensions
        lost = self.leases_lost - self._reported_leases_lost
        self._reported_leases_lost += lost
        figures = {
            "in_flight": self.in_flight,
            "heartbeat_extensions": extensions,
            "heartbeat_released": self.heartbeat.released,
            "leases_lost": lost,
            "protected": self.protection.protected,
        }
        telemetry = self.worker.deps.telemetry
        if not telemetry.metrics_enabled:
            self.log.info("work metrics", extra=figures)
            return
        metrics = EphemeralMetrics(namespace=NAMESPACE)
        metrics.add_dimension(name="worker", value=self.spec.name)
        metrics.add_metric(name="InFlight", unit=MetricUnit.Count, value=self.in_flight)
        metrics.add_metric(name="HeartbeatExtensions", unit=MetricUnit.Count, value=extensions)
        metrics.add_metric(name="LeasesLost", unit=MetricUnit.Count, value=lost)
        metrics.flush_metrics()


def _leases(context: RunContext) -> dict[str, str]:
    """A snapshot of a batch's leases (the engine's threads change them meanwhile)."""
    return dict(context.sluice_claims)
