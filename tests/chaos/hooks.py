"""AWS-level faults: botocore event handlers registered on the sandbox's session.

Throttles answer requests with the service's own error before they are sent; duplicates
publish accepted events a second time; relay faults refuse part of a stream batch.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from botocore.awsrequest import AWSResponse

from sluice.publisher import RetryPolicy
from tests.chaos.faults import Counts, share

Hook = tuple[str, Callable[..., Any]]


class _Body:
    """The raw stream botocore reads an answer from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


_JSON = "application/x-amz-json-1.0"
THROTTLES: dict[str, tuple[str, bytes, dict[str, str]]] = {
    "dynamodb": (
        _JSON,
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
        b'"message":"injected: rate of requests exceeds the allowed throughput"}',
        {},
    ),
    "sqs": (
        _JSON,
        b'{"__type":"com.amazonaws.sqs#ThrottlingException","message":"injected: rate exceeded"}',
        {"x-amzn-query-error": "ThrottlingException;Sender"},
    ),
    "sns": (
        "text/xml",
        b'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender'
        b"</Type><Code>Throttling</Code><Message>injected: rate exceeded</Message></Error>"
        b"<RequestId>chaos</RequestId></ErrorResponse>",
        {},
    ),
}


class Throttles:
    """A share of requests is answered with the service's own throttling error, unsent.

    Registered on ``before-send``, so botocore's retry handler sees a real HTTP 400
    throttle and retries it with backoff, as it would on AWS. Whether a request is
    throttled is a hash of the seed, the request (URL and body) and how many times that
    same request was sent before: the same requests meet the same throttles, whatever
    order threads send them in, and a retry is an independent draw.
    """

    def __init__(self, rate: float, seed: int = 4) -> None:
        self.rate, self.seed = rate, seed
        self.injected = Counts()
        self.sent = Counts()
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def hooks(self) -> list[Hook]:
        """One handler per throttled service."""
        return [(f"before-send.{service}", self._answer) for service in THROTTLES]

    def _answer(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        service = event_name.split(".")[1]
        self.sent.add(service)
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        digest = hashlib.sha256(request.url.encode() + b"\0" + body).hexdigest()
        with self._lock:
            self._attempts[digest] += 1
            attempt = self._attempts[digest]
        if share(self.seed, "throttle", digest, attempt) >= self.rate:
            return None
        self.injected.add(service)
        content_type, body, headers = THROTTLES[service]
        return AWSResponse(request.url, 400, {"Content-Type": content_type, **headers}, _Body(body))


def _envelope_id(body: str) -> str:
    return str(json.loads(body).get("id", ""))


class Duplicates:
    """SNS delivers a share of published events twice: each is published again, new ids."""

    def __init__(self, rate: float, seed: int = 5) -> None:
        self.rate, self.seed = rate, seed
        self.sns: Any = None
        """The client that publishes the copies (set once the sandbox is up)."""
        self.copied: list[str] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def hooks(self) -> list[Hook]:
        """See each PublishBatch request, then copy the chosen accepted entries."""
        return [
            ("before-parameter-build.sns.PublishBatch", self._remember),
            ("after-call.sns.PublishBatch", self._copy),
        ]

    def _remember(self, params: dict[str, Any], **_: Any) -> None:
        self._local.params = params

    def _copy(self, parsed: dict[str, Any], **_: Any) -> None:
        params = self._local.params
        entries = {e["Id"]: e for e in params["PublishBatchRequestEntries"]}
        for ok in parsed.get("Successful", []):
            entry = entries[ok["Id"]]
            envelope_id = _envelope_id(entry["Message"])
            if share(self.seed, "duplicate", envelope_id) >= self.rate:
                continue
            self.sns.publish(
                TopicArn=params["TopicArn"],
                Message=entry["Message"],
                MessageAttributes=entry["MessageAttributes"],
            )
            with self._lock:
                self.copied.append(envelope_id)


class RelayFaults:
    """In every ``every``-th stream batch with more than ``after`` events, SNS refuses the rest.

    A batch is what one shard reader got from one GetRecords call (same thread). The refused
    entries are refused as often as the publisher tries, so the relay reports them failed
    and the stream retries from the first of them; the events before it are already out.
    """

    def __init__(self, every: int = 4, after: int = 3) -> None:
        self.every, self.after = every, after
        self.refusals = RetryPolicy().attempts
        self.batches = 0
        """Batches long enough to fail part-way."""
        self.batches_hit = 0
        self.injected = Counts()
        self._refusing: dict[str, int] = {}
        self._local = threading.local()
        self._lock = threading.Lock()

    def hooks(self) -> list[Hook]:
        """Batch boundaries from GetRecords; refusals on PublishBatch."""
        return [
            ("before-call.dynamodb-streams.GetRecords", self._new_batch),
            ("before-parameter-build.sns.PublishBatch", self._take_out),
            ("before-call.sns.PublishBatch", self._short_circuit),
            ("after-call.sns.PublishBatch", self._report),
        ]

    def _new_batch(self, **_: Any) -> None:
        self._local.seen, self._local.chosen, self._local.dropped = 0, None, []

    def _refuse(self, body: str) -> bool:
        local = self._local
        with self._lock:
            left = self._refusing.get(body)
            if left:
                self._refusing[body] = left - 1
                return True
            if left is not None:
                return False  # refused enough: this attempt goes through
            local.seen += 1
            if local.seen == self.after + 1 and local.chosen is None:
                self.batches += 1
                local.chosen = self.batches % self.every == 1 % self.every
                self.batches_hit += local.chosen
            if local.chosen and local.seen > self.after:
                self._refusing[body] = self.refusals - 1
                self.injected.add("entries")
                return True
        return False

    def _take_out(self, params: dict[str, Any], **_: Any) -> None:
        if not hasattr(self._local, "seen"):
            self._new_batch()
        entries = params["PublishBatchRequestEntries"]
        dropped = [e["Id"] for e in entries if self._refuse(e["Message"])]
        self._local.dropped = dropped
        self._local.all_dropped = len(dropped) == len(entries)
        params["PublishBatchRequestEntries"] = [e for e in entries if e["Id"] not in dropped]

    def _short_circuit(self, **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if self._local.dropped and self._local.all_dropped:
            return SimpleNamespace(status_code=200, headers={}), {"Successful": [], "Failed": []}
        return None

    def _report(self, parsed: dict[str, Any], **_: Any) -> None:
        parsed.setdefault("Failed", [])
        parsed["Failed"] += [
            {"Id": i, "Code": "InternalError", "Message": "injected", "SenderFault": False}
            for i in self._local.dropped
        ]
