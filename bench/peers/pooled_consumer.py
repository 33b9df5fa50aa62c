"""A boto3 SQS consumer as a careful team writes it without Sluice: a thread pool.

``concurrency`` records in flight at most: ``concurrency / 10`` receiver threads, each
receiving up to ten messages (long polling), running them on one shared pool of
``concurrency`` threads, and deleting the batch's successes in one call. No idempotency, no
heartbeat, no drain, no dead-lettering: only what moves the records, so the comparison with
``sluice work --concurrency N`` is at the same concurrency.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

PER_RECEIVE = 10


class PooledConsumer:
    """Receive, process on a pool, delete; until ``stop()``."""

    def __init__(
        self, sqs: Any, queue_url: str, work: Callable[[dict[str, Any]], None], concurrency: int
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.work = work
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(concurrency, "pooled")
        self._receivers = [
            threading.Thread(target=self._loop, daemon=True)
            for _ in range(max(1, math.ceil(concurrency / PER_RECEIVE)))
        ]

    def start(self) -> None:
        """Start every receiver."""
        for thread in self._receivers:
            thread.start()

    def stop(self) -> None:
        """Stop receiving; wait for the receivers and the pool."""
        self._stop.set()
        for thread in self._receivers:
            thread.join()
        self._pool.shutdown(wait=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=PER_RECEIVE, WaitTimeSeconds=1
            ).get("Messages", [])
            if not messages:
                continue
            futures = {self._pool.submit(self.work, m): m for m in messages}
            wait(futures)
            done = [m for f, m in futures.items() if f.exception() is None]
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )
