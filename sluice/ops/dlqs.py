"""Find a DLQ by name and the queue its messages came from."""

from __future__ import annotations

from dataclasses import dataclass

from sluice.ops.errors import UnknownDlqError, UnsupportedError
from sluice.target import Target
from sluice.topology import Dlq, DlqKind


@dataclass(frozen=True, slots=True)
class OpenDlq:
    """A DLQ of the registry and its URL."""

    dlq: Dlq
    url: str


def find(target: Target, name: str) -> OpenDlq:
    """The DLQ called ``name`` (or the queue DLQ of worker ``name``), checked to exist."""
    try:
        dlq = target.topology.dlq(name)
    except LookupError as exc:
        raise UnknownDlqError(str(exc).strip("'\"")) from None
    return OpenDlq(dlq, target.queue_url(dlq.name))


def home_queue(target: Target, dlq: Dlq) -> str:
    """Where a replay sends by default: the worker queue the message failed on (or the
    topic or queue a schedule sends to)."""
    if dlq.kind is DlqKind.SCHEDULE:
        return dlq.source
    if dlq.kind is DlqKind.STREAM_FAILURE:
        raise UnsupportedError(
            f"{dlq.name} holds stream on-failure records; they are replayed through the "
            f"{dlq.worker} worker, not sent to a queue"
        )
    spec = target.topology.registry.get(dlq.worker).spec
    return target.topology.queues(spec).queue


def depth(target: Target, url: str) -> int:
    """Messages visible in a queue (approximate, as SQS counts)."""
    attrs = target.clients.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0))
