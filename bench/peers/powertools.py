"""An SQS worker the way Powertools teaches it: BatchProcessor, idempotency on DynamoDB.

The benchmarks build ``PowertoolsWorker`` around the same work function they give Sluice,
and ``PowertoolsAsyncWorker`` (Powertools' concurrent processor) around its coroutine twin.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    BatchProcessor,
    EventType,
    async_process_partial_response,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from events import CATALOG
from sluice.core import Envelope

TTL_S = 14 * 24 * 3600


class PowertoolsWorker:
    """``BatchProcessor`` over records, each decoded and run under ``idempotent_function``."""

    def __init__(
        self,
        work: Callable[[Envelope[Any]], None],
        *,
        table: str,
        client: Any = None,
        logger: Logger | None = None,
        idempotent: bool = True,
    ) -> None:
        self.logger = logger or Logger()
        self.processor = BatchProcessor(event_type=EventType.SQS)
        self.config = IdempotencyConfig(
            event_key_jmespath="id", raise_on_no_idempotency_key=True, expires_after_seconds=TTL_S
        )
        self.persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)

        def process(event: dict[str, Any]) -> None:
            work(CATALOG.decode(event))

        self._process = (
            idempotent_function(
                process,
                data_keyword_argument="event",
                persistence_store=self.persistence,
                config=self.config,
            )
            if idempotent
            else process
        )

    def record_handler(self, record: SQSRecord) -> None:
        """One record: correlation keys on the logger, then the idempotent function."""
        event = json.loads(record.body)
        self.logger.append_keys(
            correlation_id=event.get("correlation_id"),
            event_id=event.get("id"),
            event_type=event.get("type"),
        )
        self._process(event=event)
        self.logger.info("record finished")

    def handler(self, event: dict[str, Any], context: Any) -> Any:
        """The Lambda entry point: a partial batch response."""
        self.config.register_lambda_context(context)
        return process_partial_response(
            event=event,
            record_handler=self.record_handler,
            processor=self.processor,
            context=context,
        )


class PowertoolsAsyncWorker:
    """``AsyncBatchProcessor``: every record of a batch at once, as coroutines on one event
    loop (``asyncio.gather``), so records overlap only where ``work`` awaits. No idempotency:
    ``idempotent_function`` does not take coroutines."""

    def __init__(
        self, work: Callable[[Envelope[Any]], Awaitable[None]], *, logger: Logger | None = None
    ) -> None:
        self.logger = logger or Logger()
        self.processor = AsyncBatchProcessor(event_type=EventType.SQS)
        self._work = work

    async def record_handler(self, record: SQSRecord) -> None:
        """One record: correlation keys on the logger (as the sequential peer), then ``work``."""
        event = json.loads(record.body)
        self.logger.append_keys(
            correlation_id=event.get("correlation_id"),
            event_id=event.get("id"),
            event_type=event.get("type"),
        )
        await self._work(CATALOG.decode(event))
        self.logger.info("record finished")

    def handler(self, event: dict[str, Any], context: Any) -> Any:
        """The Lambda entry point: a partial batch response."""
        with _in_lambda():
            return async_process_partial_response(
                event=event,
                record_handler=self.record_handler,
                processor=self.processor,
                context=context,
            )


@contextmanager
def _in_lambda() -> Iterator[None]:
    """``LAMBDA_TASK_ROOT`` set, as Lambda sets it: Powertools then keeps one event loop
    across invocations, where elsewhere it pays ``asyncio.run``'s new loop per batch."""
    if os.environ.get("LAMBDA_TASK_ROOT"):
        yield
        return
    os.environ["LAMBDA_TASK_ROOT"] = os.getcwd()
    try:
        yield
    finally:
        del os.environ["LAMBDA_TASK_ROOT"]
