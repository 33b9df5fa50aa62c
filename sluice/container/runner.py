"""``sluice work``: receive, run through the worker's own engine, settle, drain on SIGTERM.

Each receive (up to ten messages, long polling) becomes one Lambda-shaped SQS event and goes
through ``Worker.handler``, the very entry a Lambda calls: decoding, idempotency, partial
failures, permanent errors to the DLQ, backoff by receive count and FIFO groups are the
engine's. The runner adds what a long-lived consumer owes its queue:

- ``concurrency`` records in flight at most, from ``ceil(concurrency / 10)`` receivers;
- a visibility heartbeat for the records in flight (``heartbeat``), capped at the worker's
  ``max_job_s``;
- successes deleted; failures left to the engine's backoff;
- on ``stop()`` (SIGTERM): no new receive, records not started are skipped, records in
  flight get ``drain_s`` to finish; whatever is left is handed back with visibility 0 and
  its idempotency claims abandoned, so another task runs it at once;
- ECS scale-in protection while anything is in flight (``protection``);
- a health file touched after every receive (``health``).

A crash (SIGKILL) leaves received messages invisible until their last extension runs out;
they come back then, and the idempotency claims keep every effect to one.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from sluice.container.health import HealthFile
from sluice.container.heartbeat import Heartbeat
from sluice.container.protection import ScaleInProtection
from sluice.runtime import Worker
from sluice.runtime.engine.batch import idempotency_store
from sluice.runtime.sqs_event import (
    RECEIVE_ATTRIBUTES,
    change_visibility,
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
    """Records in flight at once (across receivers)."""
    wait_s: int = 20
    """Long-poll wait per receive (SQS's most)."""
    drain_s: float = 30.0
    """After SIGTERM, how long records in flight get to finish (ECS waits 30 s by default)."""


class RunContext:
    """What the engine reads as the Lambda ``context``, one per batch.

    The remaining time is the queue's visibility timeout (an idempotency claim expires that
    long after it is taken, so a crashed task's claims lapse as its messages come back), and
    0 once draining: records not yet started are then skipped and handed back. The engine
    notes each key it claims in ``sluice_claims``, so a drain that gives up the batch can
    abandon its claims.
    """

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self.sluice_claims: set[str] = set()

    def get_remaining_time_in_millis(self) -> int:
        """0 while draining, else the visibility timeout."""
        return 0 if self._runner.stopping else self._runner.visibility_s * 1000


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
        self.region = region
        self.settings = settings or WorkSettings()
        self.protection = protection or ScaleInProtection(None)
        self.health = health or HealthFile(None)
        self.log = worker.deps.telemetry.logger
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])
        self.visibility_s = int(attrs["Attributes"]["VisibilityTimeout"])
        self.heartbeat = Heartbeat(
            sqs,
            queue_url,
            visibility_s=self.visibility_s,
            cap_s=self.spec.max_job_s,
            warn=self._warn,
        )
        self.in_flight = 0
        self.batches = 0
        self._reported_extensions = 0
        self.stopping = False
        self._stop = threading.Event()
        self._count = threading.Condition()
        self._slots = threading.BoundedSemaphore(self.settings.concurrency)
        self._per_receive = min(PER_RECEIVE, self.spec.batch_size, self.settings.concurrency)
        receivers = max(1, math.ceil(self.settings.concurrency / self._per_receive))
        self._receivers = [
            threading.Thread(target=self._receive_loop, name=f"receive-{i}", daemon=True)
            for i in range(receivers)
        ]
        self._pool = ThreadPoolExecutor(self.settings.concurrency, f"work-{self.spec.name}")
        self._running: set[RunContext] = set()
        """The contexts of the batches in flight (their claims, should the drain give up)."""

    def stop(self) -> None:
        """Begin the drain (what SIGTERM does); safe from a signal handler."""
        self.stopping = True
        self._stop.set()

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
            self._report()
        return self._drain()

    def _drain(self) -> bool:
        """Finish what is in flight within ``drain_s``; hand the rest back at once."""
        deadline = time.monotonic() + self.settings.drain_s
        with self._count:
            while self.in_flight and time.monotonic() < deadline:
                self._count.wait(timeout=max(0.0, deadline - time.monotonic()))
            left = self.in_flight
        for thread in self._receivers:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        unfinished = self.heartbeat.held()
        self.heartbeat.stop()
        if unfinished:
            change_visibility(self.sqs, self.queue_url, unfinished, 0)
            self._abandon_claims()
        self.protection.update(False)
        self._report()
        self.log.info(
            "work stopped",
            extra={"records_in_flight": left, "handed_back": len(unfinished)},
        )
        self._pool.shutdown(wait=False, cancel_futures=True)
        return not unfinished

    def _receive_loop(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue
            taken = 1
            while taken < self._per_receive and self._slots.acquire(blocking=False):
                taken += 1
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
            handles = [m["ReceiptHandle"] for m in messages]
            if self.stopping:  # received as the drain began: straight back
                change_visibility(self.sqs, self.queue_url, handles, 0)
                self._release(len(messages))
                continue
            self.heartbeat.track(handles)
            self._busy(len(messages))
            self._pool.submit(self._process, messages)

    def _receive(self, count: int) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=self.settings.wait_s,
            **RECEIVE_ATTRIBUTES,
        )
        return list(answer.get("Messages", []))

    def _process(self, messages: list[dict[str, Any]]) -> None:
        records = [lambda_record(m, self.queue_arn, self.region) for m in messages]
        started = time.perf_counter()
        now_ms = time.time() * 1000
        for record in records:
            self._delivered(record, now_ms)
        try:
            failed = self._invoke(records)
            self.heartbeat.untrack([r["receiptHandle"] for r in records])
            done = [r for r in records if r["messageId"] not in failed]
            for record in delete_messages(self.sqs, self.queue_url, done):
                self._warn("delete failed", message_id=record["messageId"])
            back = [r["receiptHandle"] for r in records if r["messageId"] in failed]
            if self.stopping and back:  # skipped by the drain: visible again at once
                change_visibility(self.sqs, self.queue_url, back, 0)
            self.log.info(
                "invocation end",
                extra={
                    "records": len(records),
                    "failed": len(failed),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "settled": [correlation_of(r) for r in done],
                },
            )
        except Exception:  # never lose the thread; SQS keeps what was not deleted
            self.log.exception("batch could not be settled; SQS delivers it again")
        finally:
            self.batches += 1
            self._busy(-len(records))
            self._release(len(records))

    def _delivered(self, record: SqsRecord, now_ms: float) -> None:
        """One line per record received: the hop ``sluice trace`` shows, as on Lambda's."""
        attrs = record["attributes"]
        sent = int(attrs.get("SentTimestamp", now_ms))
        self.log.info(
            "queue delivered",
            extra={
                "correlation_id": correlation_of(record),
                "queue": self.queue_url.rsplit("/", 1)[-1],
                "message_id": record["messageId"],
                "receive_count": int(attrs.get("ApproximateReceiveCount", 1)),
                "sent_ts": sent / 1000,
                "queued_ms": round(now_ms - sent, 1),
            },
        )

    def _invoke(self, records: list[SqsRecord]) -> set[str]:
        """The worker's Lambda entry; a raised invocation fails every record, as on Lambda."""
        context = RunContext(self)
        self._running.add(context)
        try:
            answer = self.worker.handler({"Records": records}, context)
        except Exception:
            self.log.exception("invocation raised; every record of it will be retried")
            return {r["messageId"] for r in records}
        finally:
            self._running.discard(context)
        return {str(f["itemIdentifier"]) for f in (answer or {}).get("batchItemFailures") or []}

    def _abandon_claims(self) -> None:
        """Forget the claims of the records handed back unfinished, so their copies run at
        once instead of waiting out a claim no one will complete.

        The process exits right after the drain (``sluice work`` leaves without joining the
        threads), so this is the moment a crash would have let the claims lapse anyway. A
        record that completes meanwhile keeps its completion: only claims still in
        progress are forgotten.
        """
        keys = [key for context in list(self._running) for key in list(context.sluice_claims)]
        store = idempotency_store(self.spec, self.worker.deps)
        if not keys or store is None:
            return
        try:
            forgotten = store.abandon(keys)
        except Exception as exc:  # they lapse with the visibility timeout instead
            self._warn("claims not abandoned", error=f"{type(exc).__name__}: {exc}")
            return
        self.log.info("claims abandoned", extra={"claims": forgotten})

    def _busy(self, delta: int) -> None:
        with self._count:
            self.in_flight += delta
            busy = self.in_flight > 0
            self._count.notify_all()
        self.protection.update(busy)

    def _release(self, count: int) -> None:
        for _ in range(count):
            self._slots.release()

    def _warn(self, message: str, **fields: Any) -> None:
        self.log.warning(message, extra=fields)

    def _report(self) -> None:
        """In-flight count and heartbeat extensions: a log line, and EMF where metrics are on."""
        extensions = self.heartbeat.extensions - self._reported_extensions
        self._reported_extensions += extensions
        figures = {
            "in_flight": self.in_flight,
            "heartbeat_extensions": extensions,
            "heartbeat_released": self.heartbeat.released,
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
        metrics.flush_metrics()
