"""Wire shapes of what Lambda hands a worker and what the worker answers."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class SqsMessageAttribute(TypedDict, total=False):
    """One SQS message attribute as it appears in a Lambda event."""

    stringValue: str
    binaryValue: str
    dataType: str


class SqsRecord(TypedDict):
    """One record of an SQS event."""

    messageId: str
    receiptHandle: str
    body: str
    attributes: dict[str, str]
    messageAttributes: dict[str, SqsMessageAttribute]
    md5OfBody: str
    eventSource: str
    eventSourceARN: str
    awsRegion: str


class StreamRecord(TypedDict):
    """One record of a DynamoDB stream event."""

    eventID: str
    eventName: str
    eventVersion: str
    eventSource: str
    awsRegion: str
    dynamodb: dict[str, Any]
    eventSourceARN: str
    userIdentity: NotRequired[dict[str, Any]]


class BatchItemFailure(TypedDict):
    """A record Lambda must not consider done: a messageId or a stream sequence number."""

    itemIdentifier: str


class PartialBatchResponse(TypedDict):
    """What a worker returns: the records that failed. The rest are done."""

    batchItemFailures: list[BatchItemFailure]
