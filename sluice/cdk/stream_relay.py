"""StreamRelay: a stream worker's function, reading its table's stream with failure handling.

Bisect on error, a retry cap and a maximum record age from the declaration, partial batch
responses, and an on-failure SQS destination (encrypted, alarmed) that receives the shard
and sequence range of every batch given up on.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from sluice.cdk import nag
from sluice.cdk.functions import batching_window
from sluice.cdk.queues import dead_letter_queue
from sluice.cdk.shared import Shared
from sluice.runtime import WorkerSpec


class StreamRelay(Construct):
    """A ``Source.STREAM`` worker: its failure queue, its function and its event source."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: WorkerSpec,
        shared: Shared,
    ) -> None:
        super().__init__(scope, construct_id)
        failure_queue = shared.topology.stream_failure_queue(spec)
        self.failures = dead_letter_queue(self, "Failures", name=failure_queue)
        nag.acknowledge(self.failures, nag.IS_A_DLQ)
        self.function = shared.kit.worker(self, spec)
        self.function.add_event_source(
            sources.DynamoEventSource(
                shared.store.table(spec.table or ""),
                # From the oldest record the stream holds: nothing written before the
                # mapping existed is skipped.
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=spec.batch_size,
                max_batching_window=batching_window(spec),
                bisect_batch_on_error=True,
                retry_attempts=spec.retry_attempts,
                max_record_age=Duration.seconds(spec.max_record_age_s),
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.failures),
            )
        )
        # The event source granted dynamodb:ListStreams on '*' (AWS allows nothing narrower).
        nag.acknowledge(self.function.role or self.function, nag.LIST_STREAMS)
        shared.grant(self.function, spec)
        shared.watch(spec, self.function, {failure_queue: self.failures})
