"""The client library producers use: batched, retried, typed sends to SNS or SQS."""

from producers.publisher.errors import (
    GroupingError,
    OversizeError,
    PublisherError,
    PublishFailedError,
)
from producers.publisher.messages import MAX_BYTES, MAX_ENTRIES, attributes, dedup_id
from producers.publisher.publisher import Destination, Publisher, RetryPolicy
from producers.publisher.result import Failed, PublishResult, Sent

__all__ = [
    "MAX_BYTES",
    "MAX_ENTRIES",
    "Destination",
    "Failed",
    "GroupingError",
    "OversizeError",
    "PublishFailedError",
    "PublishResult",
    "Publisher",
    "PublisherError",
    "RetryPolicy",
    "Sent",
    "attributes",
    "dedup_id",
]
