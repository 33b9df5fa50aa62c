"""An SQS worker the way Powertools teaches it: BatchProcessor, idempotency on DynamoDB.

The benchmarks build ``PowertoolsWorker`` around the same work function they give Sluice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
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
