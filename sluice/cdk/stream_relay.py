"""StreamRelay: a stream worker's function, reading its table's stream with failure handling.

Bisect on error, a retry cap, a maximum record age and the batches per shard
(``parallelization``) from the declaration, partial batch responses, and an on-failure
destination. The destination is an S3 bucket: Lambda writes the whole invocation record
there, the batch's records included, so a failure stays replayable exactly as it was long
after the stream (24 hours) has dropped it. Each new object is announced on the worker's
failure queue (the one ``sluice dlq`` lists and the alarms watch), and both expire after
``defaults.STREAM_FAILURE_RETENTION``.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as notifications
from constructs import Construct

from sluice.cdk import defaults, nag
from sluice.cdk.functions import batching_window
from sluice.cdk.queues import dead_letter_queue
from sluice.cdk.shared import Shared
from sluice.runtime import WorkerSpec


class StreamRelay(Construct):
    """A ``Source.STREAM`` worker: its failure bucket and queue, function and event source."""

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
        self.bucket = failure_bucket(self, "FailureRecords", shared)
        self.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED, notifications.SqsDestination(self.failures)
        )
        # A bucket ARN names no account: only this account's bucket may notify the queue.
        self.failures.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyThisAccountsBucket",
                effect=iam.Effect.DENY,
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.failures.queue_arn],
                conditions={"StringNotEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
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
                parallelization_factor=spec.parallelization,
                report_batch_item_failures=True,
                on_failure=FailureRecords(self.bucket),
            )
        )
        # The event source granted dynamodb:ListStreams on '*' (AWS allows nothing narrower):
        # acknowledged with X-Ray's on every function's role (FunctionKit.build).
        role = self.function.role or self.function
        bucket_id = Stack.of(self).get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        nag.acknowledge(role, nag.FAILURE_OBJECTS, bucket=bucket_id)
        handler = Stack.of(self).node.try_find_child(NOTIFICATIONS_HANDLER)
        if handler is not None:
            nag.acknowledge(handler, nag.NOTIFICATIONS_HANDLER)
        shared.grant(self.function, spec)
        shared.watch(spec, self.function, {failure_queue: self.failures})


NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"
"""CDK's singleton that sets bucket notifications (its id is fixed in aws-cdk-lib)."""


@jsii.implements(lambda_.IEventSourceDlq)
class FailureRecords:
    """The bucket as on-failure destination, granting only what Lambda's delivery uses.

    CDK's ``S3OnFailureDestination`` grants read, write and delete on the whole bucket;
    Lambda writes the record with ``s3:PutObject`` and checks the bucket with
    ``s3:ListBucket``, as the function's role.
    """

    def __init__(self, bucket: s3.IBucket) -> None:
        self.bucket = bucket

    def bind(self, _target: Any, target_handler: lambda_.IFunction) -> lambda_.DlqDestinationConfig:
        """Grant the two actions and name the bucket as the destination."""
        target_handler.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )
        target_handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.bucket.arn_for_objects("*")]
            )
        )
        return lambda_.DlqDestinationConfig(destination=self.bucket.bucket_arn)


def failure_bucket(scope: Construct, construct_id: str, shared: Shared) -> s3.Bucket:
    """Private, encrypted, TLS only, expiring after the retention; kept per the stage."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        lifecycle_rules=[
            s3.LifecycleRule(
                expiration=defaults.STREAM_FAILURE_RETENTION,
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ],
        removal_policy=shared.stage.data_removal,
    )
    nag.acknowledge(bucket, nag.NO_ACCESS_LOGS)
    return bucket
