"""Every queue the same way: SSE-SQS encryption at rest, TLS enforced by queue policy."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.cdk import defaults


def secure_queue(
    scope: Construct, construct_id: str, *, name: str, fifo: bool = False, **options: Any
) -> sqs.Queue:
    """A queue named by the topology, encrypted, refusing plain-HTTP requests."""
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=name,
        fifo=True if fifo else None,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        **options,
    )


def dead_letter_queue(
    scope: Construct, construct_id: str, *, name: str, fifo: bool = False
) -> sqs.Queue:
    """A DLQ that keeps messages 14 days, the most SQS allows."""
    return secure_queue(
        scope, construct_id, name=name, fifo=fifo, retention_period=defaults.DLQ_RETENTION
    )
