"""The client library producers use: batched, retried, typed sends to SNS or SQS."""

from sluice.publisher.errors import (
    GroupingError,
    OversizeError,
    PublisherError,
    PublishFailedError,
)
from sluice.publisher.messages import (
    MAX_BYTES,
    MAX_ENTRIES,
    attributes,
    dedup_id,
    entry_size,
    pack,
)
from sluice.publisher.publisher import GROUP_BLOCKED, Destination, Publisher, RetryPolicy
from sluice.publisher.result import Failed, PublishResult, Sent

__all__ = [
    "GROUP_BLOCKED",
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
    "entry_size",
    "pack",
]
