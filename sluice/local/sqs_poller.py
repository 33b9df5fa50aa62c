"""An SQS event source mapping: receive, batch, invoke, delete the successes.

Batch size and batching window, partial batch responses (failures stay on the queue and
come back after their visibility timeout, which the engine backs off), a raised exception
leaves the whole batch, and SQS's own redrive moves a message to the DLQ after
``maxReceiveCount`` receives. One receiver thread per queue feeds at most
``max_invocations`` concurrent invocations. The poller reads no body for itself: a record
that fails before the function sees it is dead-lettered alone, with the reason.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sluice.local.function import invoke
from sluice.local.logs import LogSink
from sluice.runtime import Worker
from sluice.runtime.queues import DeadLetter, QueueOps
from sluice.runtime.records import parse_batch
from sluice.runtime.sqs_event import (
    DELETE_ATTEMPTS,
    correlation_of,
    delete_messages,
    lambda_attribute,
    lambda_record,
)
from sluice.runtime.types import SqsRecord

__all__ = ["DELETE_ATTEMPTS", "SqsPoller", "correlation_of", "lambda_attribute"]
WAIT_S = 1
"""Long-poll wait per receive: short, so stopping is quick."""
UNDELIVERABLE = "undeliverable"
"""The reason a record that fails before the function sees it is dead-lettered with."""


class SqsPoller:
    """Polls one worker's queue and invokes its handler like Lambda's SQS poller."""

    def __init__(
        self, worker: Worker, sqs: Any, queue_url: str, *, sink: LogSink, region: str, prefix: str
    ) -> None:
        self.worker = worker
        self.spec = worker.spec
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_name = queue_url.rsplit("/", 1)[-1]
        self.queue_arn = f"arn:aws:sqs:{region}:{queue_url.rsplit('/', 2)[-2]}:{self.queue_name}"
        self.sink = sink
        self.region = region
        self.prefix = prefix
        self.queues = QueueOps(sqs, self.spec.name)
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(self.spec.max_invocations)
        self._pool = ThreadPoolExecutor(self.spec.max_invocations, f"esm-{self.spec.name}")
        self._thread = threading.Thread(target=self._run, name=f"poll-{self.spec.name}")

    def start(self) -> None:
        """Start receiving."""
        self._thread.start()

    def halt(self) -> None:
        """Ask the poller to stop (``stop`` waits for it)."""
        self._stop.set()

    def stop(self) -> None:
        """Stop receiving and wait for invocations in flight."""
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=WAIT_S):
                continue
            try:
                messages = self._collect()
            except Exception as exc:  # the server went away or is busy: try again shortly
                self._slots.release()
                if not self._stop.is_set():
                    self.sink.event(
                        "receive failed",
                        worker=self.spec.name,
                        correlation_id="-",
                        level="WARNING",
                        error=str(exc),
                    )
                    time.sleep(WAIT_S)
                continue
            if not messages:
                self._slots.release()
                continue
            self._pool.submit(self._invoke, messages)

    def _collect(self) -> list[dict[str, Any]]:
        """Up to batch_size messages: return at once, or gather for the batching window."""
        window_end = time.monotonic() + self.spec.batching_window_s
        got: list[dict[str, Any]] = []
        while len(got) < self.spec.batch_size and not self._stop.is_set():
            left = window_end - time.monotonic()
            if got and left <= 0:
                break
            wait = WAIT_S if not got else max(0, min(WAIT_S, int(left)))
            try:
                got += self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=min(10, self.spec.batch_size - len(got)),
                    WaitTimeSeconds=wait,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if not got:
                    raise
                break  # deliver what we hold rather than strand it until its visibility ends
            if not got or self.spec.batching_window_s == 0:
                break
        return got

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        try:
            self.deliver(messages)
        finally:
            self._slots.release()

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        """Hand one received batch to the function, and delete what it settled; never raises.

        A record that fails before the function sees it is a permanent failure of its own:
        it goes to the DLQ with the reason, as the engine's do, then its neighbours run.
        """
        try:
            records = [self.record(m) for m in messages]
            correlations, refused = self._admit(records)
            held = self._refuse(refused) if refused else set()
            admitted = [
                r for r in records if r["messageId"] in correlations and _group(r) not in held
            ]
            if admitted:
                self._run_function(admitted, correlations)
        except Exception as exc:  # never let a poller thread die; SQS keeps the messages
            self.sink.event(
                "poller error",
                worker=self.spec.name,
                correlation_id="-",
                level="ERROR",
                error=f"{type(exc).__name__}: {exc}",
            )

    def _admit(
        self, records: list[SqsRecord]
    ) -> tuple[dict[str, str], list[tuple[SqsRecord, str]]]:
        """Log each record's delivery; the correlation ids of those logged, and those that
        raised, each with its cause."""
        now_ms = time.time() * 1000
        correlations: dict[str, str] = {}
        refused: list[tuple[SqsRecord, str]] = []
        for record in records:
            try:
                correlation = correlation_of(record)
                self._hop(record, correlation, now_ms)
            except Exception as exc:  # anything before the engine fails this record alone
                refused.append((record, f"{type(exc).__name__}: {exc}"))
            else:
                correlations[record["messageId"]] = correlation
        return correlations, refused

    def _run_function(self, records: list[SqsRecord], correlations: dict[str, str]) -> None:
        result = invoke(
            self.worker,
            {"Records": records},
            self.sink,
            region=self.region,
            prefix=self.prefix,
            correlations={r["messageId"]: correlations[r["messageId"]] for r in records},
        )
        if result.error is None:
            self._delete([r for r in records if r["messageId"] not in result.failed_ids])

    def _refuse(self, refused: list[tuple[SqsRecord, str]]) -> set[str | None]:
        """Dead-letter each record with its cause, as the engine does, then delete it from
        the queue; one the DLQ did not take stays there and comes back. Returns the FIFO
        groups such a record holds back, as the engine holds a group behind a failure."""
        records = [record for record, _ in refused]
        inbound = parse_batch({"Records": records}, self.spec.source, self.spec.name)
        letters = [
            DeadLetter(
                found, UNDELIVERABLE, f"the poller could not hand it to the function: {cause}"
            )
            for found, (_, cause) in zip(inbound, refused, strict=True)
        ]
        unsent = {letter.inbound.item_id for letter in self.queues.dead_letter(letters)}
        for letter in letters:
            self.sink.event(
                "record undeliverable",
                worker=self.spec.name,
                correlation_id="-",
                level="ERROR",
                message_id=letter.inbound.item_id,
                reason=letter.reason,
                detail=letter.detail,
                dead_lettered=letter.inbound.item_id not in unsent,
            )
        self._delete([r for r in records if r["messageId"] not in unsent])
        stayed = [r for r in records if r["messageId"] in unsent]
        return {_group(r) for r in stayed} if self.spec.source.is_fifo else set()

    def _hop(self, record: SqsRecord, correlation: str, now_ms: float) -> None:
        attrs = record["attributes"]
        sent = int(attrs.get("SentTimestamp", now_ms))
        self.sink.event(
            "queue delivered",
            worker=self.spec.name,
            correlation_id=correlation,
            queue=self.queue_name,
            message_id=record["messageId"],
            receive_count=int(attrs.get("ApproximateReceiveCount", 1)),
            sent_ts=sent / 1000,
            queued_ms=round(now_ms - sent, 1),
        )

    def _delete(self, records: list[SqsRecord]) -> None:
        """Delete the successes, retrying entries SQS refused, as Lambda's poller does.

        A message left undeleted comes back only after the visibility timeout (6 x the
        function timeout), so a silently dropped delete looks like a stuck message.
        """
        for record in delete_messages(self.sqs, self.queue_url, records):
            self.sink.event(
                "delete failed; the message returns after its visibility timeout",
                worker=self.spec.name,
                correlation_id=correlation_of(record),
                level="WARNING",
                message_id=record["messageId"],
            )

    def record(self, message: dict[str, Any]) -> SqsRecord:
        """A ReceiveMessage message -> a Lambda SQS event record."""
        return lambda_record(message, self.queue_arn, self.region)


def _group(record: SqsRecord) -> str | None:
    """The record's FIFO message group (None on a standard queue)."""
    return record["attributes"].get("MessageGroupId")
