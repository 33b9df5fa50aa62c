"""The batched publisher: envelopes to an SNS topic or an SQS queue, 10 per call, retried."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from sluice.core import Envelope
from sluice.publisher.errors import PublishFailedError
from sluice.publisher.messages import Message, pack, to_message, to_messages
from sluice.publisher.result import Failed, PublishResult, Sent

RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "KMSThrottling",
        "KMSThrottlingException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
    }
)
_log = logging.getLogger("sluice.publisher")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to try an entry, and the jittered exponential pause between tries."""

    attempts: int = 4
    base_s: float = 0.05
    cap_s: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]."""
        return rng.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt - 1)))


@dataclass(frozen=True, slots=True)
class Destination:
    """An SNS topic (by ARN) or an SQS queue (by URL), and the client to reach it."""

    client: Any
    address: str
    kind: Literal["topic", "queue"]

    @property
    def fifo(self) -> bool:
        """FIFO topics and queues need a group id and a deduplication id."""
        return self.address.endswith(".fifo")

    @property
    def name(self) -> str:
        """The topic or queue name."""
        return self.address.rsplit(":" if self.kind == "topic" else "/", 1)[-1]

    @property
    def body_key(self) -> str:
        """Where the body goes in a batch entry."""
        return "Message" if self.kind == "topic" else "MessageBody"

    def send(self, entries: list[dict[str, Any]]) -> Any:
        """One PublishBatch or SendMessageBatch call."""
        if self.kind == "topic":
            return self.client.publish_batch(
                TopicArn=self.address, PublishBatchRequestEntries=entries
            )
        return self.client.send_message_batch(QueueUrl=self.address, Entries=entries)


@dataclass(frozen=True, slots=True)
class _Refusal:
    code: str
    message: str
    sender_fault: bool

    @property
    def retryable(self) -> bool:
        return not self.sender_fault


_HELD = _Refusal("GroupBlocked", "not sent: an earlier message of its group failed", False)
GROUP_BLOCKED = "GroupBlocked"
"""The code of an envelope not sent because an earlier one of its FIFO group was refused."""


class Publisher:
    """Send envelopes in as few calls as the limits allow; retry what failed; report the rest.

    ``publish(envelopes)`` sends at once and returns a ``PublishResult``. As a context
    manager, ``add(envelope)`` buffers, full batches go out as they fill, and leaving the
    block flushes the rest, then raises ``PublishFailedError`` if anything was not accepted.
    An envelope that can never be sent (too large, no FIFO group) raises before any call.

    On a FIFO destination, order within a group holds for the publisher's whole life: a call
    carries one message of a group, and once a message is refused for good its group is
    blocked. Every later envelope of that group comes back failed (``GroupBlocked``),
    unsent, until the caller has dealt with the refused one and calls ``release(group)``;
    ``blocked_groups`` says which groups wait, and for which envelope.
    """

    def __init__(
        self,
        destination: Destination,
        *,
        group_by: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        logger: Any = None,
    ) -> None:
        self.destination = destination
        self.group_by = dict(group_by or {})
        self.retry = retry or RetryPolicy()
        self.result = PublishResult()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._log = logger or _log
        self._buffer: list[Message] = []
        self._blocked: dict[str, str] = {}

    @classmethod
    def to_topic(
        cls,
        sns: Any,
        topic_arn: str,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        logger: Any = None,
    ) -> Publisher:
        """A publisher for an SNS topic (standard): ``sns`` is a boto3 SNS client.

        ``retry`` sets the tries and jittered backoff for entries SNS refuses for a while
        (``RetryPolicy(attempts=4, base_s=0.05, cap_s=2.0)`` by default); ``sleep`` and
        ``rng`` are the pause and the jitter's randomness (tests pass their own); ``logger``
        is where retries and failures are logged (a stdlib or Powertools logger).
        """
        return cls(
            Destination(sns, topic_arn, "topic"), retry=retry, sleep=sleep, rng=rng, logger=logger
        )

    @classmethod
    def to_queue(
        cls,
        sqs: Any,
        queue_url: str,
        *,
        group_by: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        logger: Any = None,
    ) -> Publisher:
        """A publisher for an SQS queue (standard or FIFO, by its URL's ``.fifo``).

        ``group_by`` is for a FIFO queue: ``{event type: data field}`` whose value is each
        envelope's MessageGroupId, e.g. ``{"payment.captured": "account_id"}`` (the field the
        consuming worker declares as ``group_by``); the deduplication id is the envelope id.
        ``retry``, ``sleep``, ``rng`` and ``logger`` are as for ``to_topic``.
        """
        return cls(
            Destination(sqs, queue_url, "queue"),
            group_by=group_by,
            retry=retry,
            sleep=sleep,
            rng=rng,
            logger=logger,
        )

    def publish(self, envelopes: Iterable[Envelope[Any]]) -> PublishResult:
        """Send every envelope now; the result says which were accepted."""
        messages = to_messages(envelopes, fifo=self.destination.fifo, group_by=self.group_by)
        result = self._send(messages)
        self.result.merge(result)
        return result

    @property
    def blocked_groups(self) -> dict[str, str]:
        """FIFO groups this publisher will not send to: group -> the envelope refused first."""
        return dict(self._blocked)

    def release(self, group: str) -> None:
        """Send to ``group`` again: the caller has dealt with its refused envelope (resent it
        first, or decided to go on without it)."""
        self._blocked.pop(group, None)

    def add(self, envelope: Envelope[Any]) -> None:
        """Buffer one envelope; a full batch is sent as soon as it is full."""
        self._buffer.append(
            to_message(envelope, fifo=self.destination.fifo, group_by=self.group_by)
        )
        batches = list(self._pack(self._buffer))
        for batch in batches[:-1]:
            self.result.merge(self._send(batch))
        self._buffer = batches[-1]

    def flush(self) -> PublishResult:
        """Send whatever is buffered; returns everything this publisher has done so far."""
        buffered, self._buffer = self._buffer, []
        if buffered:
            self.result.merge(self._send(buffered))
        return self.result

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        result = self.flush()
        if kind is None and result.failed:
            raise PublishFailedError(result)

    def _send(self, messages: list[Message]) -> PublishResult:
        """Every message in packed batches; refused ones retried together after a pause.

        On FIFO destinations a refused message holds back the later messages of its group
        until it is through, so a retry never overtakes (the order within a group holds).
        """
        result = PublishResult()
        pending = messages
        for attempt in range(1, self.retry.attempts + 1):
            refused: list[tuple[Message, _Refusal]] = []
            blocked: set[str] = set()
            for batch in self._pack(pending):
                held = [m for m in batch if m.group_id in blocked or m.group_id in self._blocked]
                ready = [m for m in batch if m not in held]
                answer = self._attempt(ready, result) if ready else []
                refused += answer + [(m, self._held(m)) for m in held]
                blocked |= {m.group_id for m, _ in answer if m.group_id is not None}
                self._block([(m, why) for m, why in answer if not why.retryable])
            last = attempt == self.retry.attempts
            final = [(m, why) for m, why in refused if last or not why.retryable]
            self._block(final)
            result.failed += [
                Failed(m.envelope_id, why.code, why.message, why.sender_fault, attempt)
                for m, why in final
            ]
            retry = {id(m) for m, why in refused if why.retryable}
            pending = [m for m in pending if id(m) in retry]
            if not pending or last:
                break
            pause = self.retry.delay(attempt, self._rng)
            self._log.warning(
                "publish entries failed; retrying",
                extra={
                    "destination": self.destination.name,
                    "entries": len(pending),
                    "codes": sorted({why.code for _, why in refused if why.retryable}),
                    "attempt": attempt,
                    "pause_s": round(pause, 3),
                },
            )
            self._sleep(pause)
        return result

    def _pack(self, messages: list[Message]) -> list[list[Message]]:
        """Calls to make: one message of a FIFO group per call, so none overtakes in a call."""
        if not self.destination.fifo:
            return list(pack(messages))
        return list(pack(messages, key=lambda m: m.group_id))

    def _held(self, message: Message) -> _Refusal:
        """Why a message of a blocked group was not sent (for good if blocked for life)."""
        first = self._blocked.get(message.group_id or "")
        if first is None:
            return _HELD
        why = (
            f"not sent: envelope {first} of group {message.group_id} was refused; deal with "
            f"it, then call release({message.group_id!r})"
        )
        return _Refusal(GROUP_BLOCKED, why, True)

    def _block(self, refused: list[tuple[Message, _Refusal]]) -> None:
        """Refused for good: block each message's FIFO group for the publisher's life."""
        for message, why in refused:
            group = message.group_id
            if group is not None and group not in self._blocked:
                self._blocked[group] = message.envelope_id
                self._log.error(
                    "FIFO group blocked: nothing more of it is sent until release()",
                    extra={
                        "destination": self.destination.name,
                        "group": group,
                        "envelope_id": message.envelope_id,
                        "code": why.code,
                    },
                )

    def _attempt(
        self, batch: list[Message], result: PublishResult
    ) -> list[tuple[Message, _Refusal]]:
        """One call; records what was accepted and returns what was refused."""
        by_id = {str(index): message for index, message in enumerate(batch)}
        entries = [m.entry(i, self.destination.body_key) for i, m in by_id.items()]
        result.calls += 1
        try:
            answer = self.destination.send(entries)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            why = _Refusal(code, str(error.get("Message", "")), code not in RETRYABLE_CODES)
            return [(m, why) for m in batch]
        except BotoCoreError as exc:  # the call never got an answer: worth another try
            return [(m, _Refusal(type(exc).__name__, str(exc), False)) for m in batch]
        for ok in answer.get("Successful", []):
            message = by_id[ok["Id"]]
            result.sent.append(Sent(message.envelope_id, ok["MessageId"], ok.get("SequenceNumber")))
        return [
            (by_id[f["Id"]], _Refusal(f["Code"], f.get("Message", ""), bool(f.get("SenderFault"))))
            for f in answer.get("Failed", [])
        ]
