"""Where replayed messages go: a queue (by name, URL or ARN) or a topic (by name or ARN)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from sluice.ops.errors import DestinationError
from sluice.ops.messages import DlqMessage
from sluice.publisher import entry_size
from sluice.runtime.records import unwrap_sns
from sluice.target import Target

FALLBACK_GROUP = "sluice-replay"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send, keyed by the id of the DLQ message it came from."""

    key: str
    body: str
    attributes: dict[str, Any]
    group_id: str | None = None
    dedup_seed: str = ""
    """Hashed into the FIFO deduplication id: the same seed always gives the same id."""

    @classmethod
    def replay_of(cls, message: DlqMessage, source: str) -> Outgoing:
        """Body, original attributes and group kept; the dedup seed pins this DLQ copy."""
        failed = message.failure.get("failed_at", "")
        sent = message.system.get("SentTimestamp", "")
        return cls(
            key=message.message_id,
            body=message.body,
            attributes=message.original_attributes,
            group_id=message.group_id,
            dedup_seed=f"{source}|{message.message_id}|{sent}|{failed}",
        )

    @property
    def size(self) -> int:
        """Body and attributes in bytes, as SQS and SNS count them against a batch."""
        return entry_size(self.body, self.attributes)

    @property
    def dedup_id(self) -> str:
        """A deterministic FIFO deduplication id (so a retried send cannot double-send)."""
        return hashlib.sha256(f"sluice-replay|{self.dedup_seed}".encode()).hexdigest()[:64]


@dataclass(frozen=True, slots=True)
class Destination:
    """A resolved queue or topic, and how to send batches of up to 10 to it."""

    kind: Literal["queue", "topic"]
    name: str
    address: str
    """The queue URL or the topic ARN."""

    @property
    def fifo(self) -> bool:
        """FIFO queues and topics need a group id and a dedup id."""
        return self.name.endswith(".fifo")

    def send(self, clients: Any, batch: list[Outgoing]) -> dict[str, str]:
        """Send up to 10 messages; returns the keys that failed, with SQS's or SNS's reason."""
        entries = [self._entry(str(i), out) for i, out in enumerate(batch)]
        if self.kind == "queue":
            answer = clients.sqs.send_message_batch(QueueUrl=self.address, Entries=entries)
        else:
            answer = clients.sns.publish_batch(
                TopicArn=self.address, PublishBatchRequestEntries=entries
            )
        return {
            batch[int(f["Id"])].key: f"{f.get('Code', 'error')}: {f.get('Message', '')}".strip()
            for f in answer.get("Failed", [])
        }

    def _entry(self, entry_id: str, out: Outgoing) -> dict[str, Any]:
        if self.kind == "queue":
            entry: dict[str, Any] = {"Id": entry_id, "MessageBody": out.body}
        else:  # subscribers get SNS's own wrapping (or raw delivery) around the envelope
            entry = {"Id": entry_id, "Message": unwrap_sns(out.body)}
        if out.attributes:
            entry["MessageAttributes"] = out.attributes
        if self.fifo:
            entry["MessageGroupId"] = out.group_id or FALLBACK_GROUP
            entry["MessageDeduplicationId"] = out.dedup_id
        return entry


def resolve(target: Target, name: str) -> Destination:
    """A queue or topic by name, URL or ARN, checked to exist; DestinationError otherwise."""
    clients = target.clients
    if name.startswith("arn:aws:sns:"):
        return _topic(clients, name, target)
    if name.startswith("arn:aws:sqs:"):
        return _queue_by_name(clients, name.rsplit(":", 1)[-1], target, name)
    if name.startswith(("https://", "http://")):
        try:
            clients.sqs.get_queue_attributes(QueueUrl=name, AttributeNames=["QueueArn"])
        except ClientError:
            raise DestinationError(f"--to {name!r}: no such queue in {target.where}") from None
        return Destination("queue", name.rstrip("/").rsplit("/", 1)[-1], name)
    try:
        return _queue_by_name(clients, name, target, name)
    except DestinationError:
        pass
    for arn in _topic_arns(clients):
        if arn.rsplit(":", 1)[-1] == name:
            return Destination("topic", name, arn)
    raise DestinationError(
        f"--to {name!r} is neither a queue nor a topic in {target.where}; "
        "give a queue name, URL or ARN, or a topic name or ARN"
    )


def _queue_by_name(clients: Any, queue: str, target: Target, asked: str) -> Destination:
    try:
        url = clients.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    except ClientError:
        raise DestinationError(f"--to {asked!r}: no such queue in {target.where}") from None
    return Destination("queue", queue, str(url))


def _topic(clients: Any, arn: str, target: Target) -> Destination:
    try:
        clients.sns.get_topic_attributes(TopicArn=arn)
    except ClientError:
        raise DestinationError(f"--to {arn!r}: no such topic in {target.where}") from None
    return Destination("topic", arn.rsplit(":", 1)[-1], arn)


def _topic_arns(clients: Any) -> list[str]:
    pages = clients.sns.get_paginator("list_topics").paginate()
    return [str(t["TopicArn"]) for page in pages for t in page.get("Topics", [])]
