"""The sandbox's CloudWatch answers SQS's ``ApproximateAgeOfOldestMessage``, as AWS does.

AWS publishes each queue's age of oldest message to CloudWatch every minute; moto publishes
no SQS metric. Without it, the only way to learn a queue's oldest message is to receive its
messages, and a receive is not a look: it raises each message's receive count and sets its
first-receive time. So the sandbox (the moto server child, and in-process moto) gets the
metric through moto's own extension point for metrics other services publish
(``CloudWatchMetricProvider``, which moto's S3 uses for its bucket sizes): one datapoint
per queue for the last whole minute, its value the age now of the oldest message the queue
holds (visible, in flight or delayed), from its ``SentTimestamp``. A message SQS's redrive
moved to a DLQ keeps its ``SentTimestamp``, so its age counts from its first send, as on AWS.

``install()`` registers the provider, once per process.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from moto.cloudwatch.models import MetricDatum
from moto.core.common_models import CloudWatchMetricProvider
from moto.sqs.models import sqs_backends

NAMESPACE = "AWS/SQS"
AGE_METRIC = "ApproximateAgeOfOldestMessage"


def queue_ages(account_id: str, region: str) -> list[MetricDatum]:
    """One datapoint per queue that holds a message, for the last whole minute."""
    if account_id not in sqs_backends or region not in sqs_backends[account_id]:
        return []
    now_ms = time.time() * 1000
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    data = []
    for name, queue in list(sqs_backends[account_id][region].queues.items()):
        stamps = [getattr(m, "sent_timestamp", None) for m in list(queue._messages)]
        sent = [int(stamp) for stamp in stamps if stamp]  # moto types it None: it is ms
        if not sent:
            continue
        data.append(
            MetricDatum(
                namespace=NAMESPACE,
                name=AGE_METRIC,
                value=max(0.0, (now_ms - min(sent)) / 1000),
                dimensions=[{"Name": "QueueName", "Value": name}],
                timestamp=minute.replace(tzinfo=None),
                unit="Seconds",
            )
        )
    return data


_installed: list[type] = []


def install() -> None:
    """Register the provider with moto, once per process: moto asks every subclass of
    ``CloudWatchMetricProvider`` for its metrics, so defining the class registers it."""
    if _installed:
        return

    class SqsQueueAge(CloudWatchMetricProvider):
        """Each SQS queue's age of oldest message."""

        @staticmethod
        def get_cloudwatch_metrics(account_id: str, region: str) -> list[MetricDatum]:
            return queue_ages(account_id, region)

    _installed.append(SqsQueueAge)
