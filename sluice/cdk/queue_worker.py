"""QueueWorker: a queue worker's queue, DLQ, subscription, function and event source.

Everything comes from the worker's declaration and the topology's names; a new
``@worker`` in ``workers/`` gets all of it with no change here.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.cdk import defaults, nag
from sluice.cdk.functions import batching_window
from sluice.cdk.queues import dead_letter_queue, secure_queue
from sluice.cdk.shared import Shared
from sluice.runtime import WorkerSpec
from sluice.topology import Topology


class QueueWorker(Construct):
    """An SQS-fed worker: queue + DLQ (redrive at ``max_receive_count``), and its function.

    SNS-fed workers also get a raw-delivery subscription filtered on ``event_type`` with
    its own DLQ; FIFO and direct-SQS workers are sent to by producers instead.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: WorkerSpec,
        shared: Shared,
    ) -> None:
        super().__init__(scope, construct_id)
        self.queue, self.dlq, queues = worker_queues(self, spec, shared)
        self.function = shared.kit.worker(self, spec)
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=spec.batch_size,
                max_batching_window=batching_window(spec),
                max_concurrency=spec.max_invocations,
                report_batch_item_failures=True,
            )
        )
        # The runtime dead-letters permanent failures itself, to the DLQ named by the
        # queue's redrive policy (read with GetQueueAttributes, which consume includes),
        # whose URL it looks up by name.
        self.queue.grant_consume_messages(self.function)
        self.dlq.grant(self.function, "sqs:SendMessage", "sqs:GetQueueUrl")
        shared.grant(self.function, spec)
        shared.watch(spec, self.function, queues)


def worker_queues(
    scope: Construct, spec: WorkerSpec, shared: Shared
) -> tuple[sqs.Queue, sqs.Queue, dict[str, sqs.IQueue]]:
    """A queue worker's queue, its DLQ and, if SNS-fed, its subscription and that's DLQ;
    returns (queue, dlq, every queue by name). Lambda and container workers share it."""
    names = shared.topology.queues(spec)
    dlq = dead_letter_queue(scope, "Dlq", name=names.dlq, fifo=names.fifo)
    queue = secure_queue(
        scope,
        "Queue",
        name=names.queue,
        fifo=names.fifo,
        visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
        retention_period=defaults.QUEUE_RETENTION,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count),
    )
    queues: dict[str, sqs.IQueue] = {names.queue: queue, names.dlq: dlq}
    if names.subscription_dlq is not None:
        subscription_dlq = dead_letter_queue(scope, "SubscriptionDlq", name=names.subscription_dlq)
        queues[names.subscription_dlq] = subscription_dlq
        nag.acknowledge(subscription_dlq, nag.IS_A_DLQ)
        shared.bus.topic.add_subscription(
            subscriptions.SqsSubscription(
                queue,
                raw_message_delivery=True,
                dead_letter_queue=subscription_dlq,
                filter_policy=_filter_policy(shared.topology, spec),
            )
        )
    return queue, dlq, queues


def _filter_policy(
    topology: Topology, spec: WorkerSpec
) -> dict[str, sns.SubscriptionFilter] | None:
    """The topology's filter policy as CDK filters (None: the worker receives everything)."""
    policy = topology.filter_policy(spec)
    if policy is None:
        return None
    return {
        attribute: sns.SubscriptionFilter.string_filter(allowlist=list(values))
        for attribute, values in policy.items()
    }
