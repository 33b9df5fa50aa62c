"""What a worker does to its own queue: dead-letter permanent failures, back off retries."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sluice.runtime.errors import ConfigurationError
from sluice.runtime.records import Inbound

# Message attributes a dead-lettered message carries; ``sluice dlq`` reads them.
REASON = "sluice.failure_reason"
DETAIL = "sluice.failure_detail"
WORKER = "sluice.failed_worker"
SOURCE_QUEUE = "sluice.source_queue"
FAILED_AT = "sluice.failed_at"
RECEIVES = "sluice.receive_count"
FAILURE_ATTRIBUTES = (REASON, DETAIL, WORKER, SOURCE_QUEUE, FAILED_AT, RECEIVES)
_SQS_ATTRIBUTE_LIMIT = 10
_DETAIL_LIMIT = 1000
_BATCH = 10


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record to dead-letter, and why."""

    inbound: Inbound
    reason: str
    detail: str


def queue_url_from_arn(sqs: Any, arn: str) -> str:
    """``arn:aws:sqs:region:account:name`` -> the queue URL, asked of SQS itself."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ConfigurationError(f"not an SQS queue ARN: {arn!r}")
    return str(sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"])


class QueueOps:
    """Dead-letters and visibility changes for one worker's source queue(s).

    The DLQ is found from the source queue's own redrive policy (cached), so the same code
    works in AWS and in the sandbox with no extra configuration.
    """

    def __init__(self, sqs: Any, worker: str) -> None:
        self._sqs = sqs
        self._worker = worker
        self._urls: dict[str, str] = {}
        self._dlqs: dict[str, str] = {}
        self._lock = threading.Lock()

    def source_url(self, arn: str) -> str:
        """The URL of the queue a record came from."""
        with self._lock:
            if arn not in self._urls:
                self._urls[arn] = queue_url_from_arn(self._sqs, arn)
            return self._urls[arn]

    def dlq_url(self, source_arn: str) -> str:
        """The URL of the source queue's DLQ, from its RedrivePolicy."""
        source = self.source_url(source_arn)
        with self._lock:
            if source_arn not in self._dlqs:
                attrs = self._sqs.get_queue_attributes(
                    QueueUrl=source, AttributeNames=["RedrivePolicy"]
                ).get("Attributes", {})
                if "RedrivePolicy" not in attrs:
                    raise ConfigurationError(
                        f"queue {source_arn} has no RedrivePolicy, so permanent failures have "
                        "nowhere to go; give it a DLQ (the CDK app and `sluice up` do)"
                    )
                target = json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"]
                self._dlqs[source_arn] = queue_url_from_arn(self._sqs, target)
            return self._dlqs[source_arn]

    def dead_letter(self, letters: list[DeadLetter]) -> list[DeadLetter]:
        """Send each record to its DLQ with the reason attached; returns those not sent.

        Calls are packed as the publisher packs them (10 entries and 256 KiB at most), and
        each call stands alone: a call that fails costs only its own letters, never those
        an earlier call already delivered.
        """
        failed: list[DeadLetter] = []
        by_queue: dict[str, list[DeadLetter]] = {}
        for letter in letters:
            by_queue.setdefault(letter.inbound.source_arn, []).append(letter)
        for source_arn, group in by_queue.items():
            try:
                url = self.dlq_url(source_arn)
                outgoing = [_Outgoing(x, self._entry(str(i), x, url)) for i, x in enumerate(group)]
            except Exception:  # no DLQ, or SQS unreachable: the records stay on their queue
                failed += group
                continue
            from sluice.publisher import pack  # only dead-lettering needs it: not at cold start

            for batch in pack(outgoing):
                failed += self._send(url, batch)
        return failed

    def _send(self, url: str, batch: list[_Outgoing]) -> list[DeadLetter]:
        by_id = {o.entry["Id"]: o.letter for o in batch}
        try:
            answer = self._sqs.send_message_batch(QueueUrl=url, Entries=[o.entry for o in batch])
        except Exception:  # this call's letters stay on their queue; the others are sent
            return list(by_id.values())
        return [by_id[f["Id"]] for f in answer.get("Failed", [])]

    def _entry(self, entry_id: str, letter: DeadLetter, url: str) -> dict[str, Any]:
        record = letter.inbound.raw
        ours = {
            REASON: letter.reason,
            DETAIL: letter.detail[:_DETAIL_LIMIT] or "-",
            WORKER: self._worker,
            SOURCE_QUEUE: letter.inbound.source_arn,
            FAILED_AT: datetime.now(UTC).isoformat(timespec="milliseconds"),
            RECEIVES: str(letter.inbound.receive_count),
        }
        attributes = {
            name: _attribute(value)
            for name, value in (record.get("messageAttributes") or {}).items()
            if name not in ours
        }
        room = _SQS_ATTRIBUTE_LIMIT - len(ours)
        attributes = dict(list(attributes.items())[:room])
        attributes.update({k: {"DataType": "String", "StringValue": v} for k, v in ours.items()})
        entry: dict[str, Any] = {
            "Id": entry_id,
            "MessageBody": record["body"],
            "MessageAttributes": attributes,
        }
        if url.endswith(".fifo"):
            entry["MessageGroupId"] = letter.inbound.group_id or "default"
            digest = hashlib.sha256(f"dlq|{record['messageId']}".encode()).hexdigest()
            entry["MessageDeduplicationId"] = digest[:64]
        return entry

    def back_off(
        self,
        records: list[Inbound],
        base_s: float,
        cap_s: int,
        held_until_ms: Mapping[str, int] | None = None,
    ) -> None:
        """Delay each failed record's next delivery by 2^(receives-1) x base, jittered, and
        at least until the claim that ``held_until_ms`` names for it lapses (capped)."""
        held, now_ms = held_until_ms or {}, time.time() * 1000

        def lapse(record: Inbound) -> int:
            return math.ceil((held.get(record.item_id, 0) - now_ms) / 1000)

        by_queue: dict[str, list[Inbound]] = {}
        for record in records:
            by_queue.setdefault(record.source_arn, []).append(record)
        for arn, group in by_queue.items():
            url = self.source_url(arn)
            for start in range(0, len(group), _BATCH):
                entries = [
                    {
                        "Id": str(i),
                        "ReceiptHandle": r.raw["receiptHandle"],
                        "VisibilityTimeout": min(
                            cap_s,
                            max(backoff_s(r.receive_count, base_s, cap_s), lapse(r)),
                        ),
                    }
                    for i, r in enumerate(group[start : start + _BATCH])
                ]
                self._sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """A letter as its SendMessageBatch entry, sized as SQS counts it."""

    letter: DeadLetter
    entry: dict[str, Any]

    @property
    def size(self) -> int:
        """Bytes, as SQS counts them against a batch."""
        from sluice.publisher import entry_size

        return entry_size(self.entry["MessageBody"], self.entry["MessageAttributes"])


def backoff_s(receive_count: int, base_s: float, cap_s: int) -> int:
    """Exponential backoff with full jitter on the upper half, in whole seconds."""
    ceiling = min(cap_s, base_s * 2 ** max(receive_count - 1, 0))
    return max(0, min(cap_s, round(random.uniform(ceiling / 2, ceiling))))


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A Lambda-event message attribute -> the shape SendMessage takes."""
    data_type = value.get("dataType") or value.get("DataType") or "String"
    binary = value.get("binaryValue")
    if binary is not None:
        return {"DataType": data_type, "BinaryValue": base64.b64decode(binary)}
    return {"DataType": data_type, "StringValue": value.get("stringValue", "")}
