"""Test helpers for an app: its whole topology in in-process moto, its workers wired to it,
and the Lambda events each kind of worker receives.

::

    from sluice.testing import local_aws, sqs_event, stream_event, stream_record

    def test_counts_words() -> None:
        with local_aws(APP) as aws:
            worker = aws.worker("words")
            assert worker.handler(sqs_event(...), None) == {"batchItemFailures": []}

    def test_counts_inserts() -> None:
        with local_aws(APP) as aws:
            insert = stream_record("INSERT", {"id": "n-1"}, {"id": "n-1", "text": "hi"},
                                   table=aws.table("notes"))
            aws.worker("changes").handler(stream_event(insert), None)

Builders: ``sqs_event`` (a standard queue, raw or SNS-fed), ``fifo_sqs_event`` (a FIFO
queue: message group, deduplication id, sequence number), ``stream_record`` and
``stream_event`` (a DynamoDB stream, images given as plain values). For the whole pipeline
in a test, ``Sandbox(app=APP)`` (and ``ManualClock`` to fire its schedules by hand) are here
too.

Requests to moto are taken one at a time (``serialized_mock_aws``), as the sandbox's
server takes them, so workers that run records on threads test Sluice, not moto's races.
Credentials and region are the helper's own: nothing reaches AWS, and no environment
variable needs setting.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from sluice.app import App
from sluice.core import Envelope
from sluice.local.inprocess import serialized_mock_aws
from sluice.local.provision import Provisioned, provision
from sluice.local.sandbox import Sandbox
from sluice.local.scheduler import ManualClock
from sluice.runtime import Clients, Deps, Worker
from sluice.runtime.wiring import quiet_deps, wire_worker
from sluice.sessions import botocore_session
from sluice.topology import Topology

__all__ = [
    "LocalAws",
    "ManualClock",
    "Sandbox",
    "fifo_sqs_event",
    "local_aws",
    "sqs_event",
    "stream_event",
    "stream_record",
]

REGION = "eu-west-1"
ACCOUNT = "123456789012"
_ENV = {
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",  # in-process moto's streams need it
    "MOTO_ACCOUNT_ID": ACCOUNT,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass
class LocalAws:
    """An app provisioned in moto, and dependencies for running its workers against it."""

    app: App
    topology: Topology
    clients: Clients
    provisioned: Provisioned
    logs: io.StringIO = field(default_factory=io.StringIO)
    """Every wired worker's JSON log lines."""

    @classmethod
    def provision(cls, app: App, clients: Clients, prefix: str | None = None) -> LocalAws:
        """Provision ``app`` on whatever endpoint ``clients`` reach (moto already started)."""
        topology = Topology(app, prefix)
        return cls(app, topology, clients, provision(clients, topology))

    @property
    def environment(self) -> dict[str, str]:
        """The ``SLUICE_*`` variables a deployed function of this app would have."""
        return self.topology.worker_environment(self.provisioned.topic_arn)

    def deps(self, worker: str) -> Deps:
        """Deps for a worker called ``worker`` (declared or not), as its function would have
        them; metrics off, logs to ``logs``."""
        return quiet_deps(worker, self.clients, self.environment, log=self.logs)

    def worker(self, name: str) -> Worker:
        """A copy of the declared worker wired to this moto (the module's worker is untouched)."""
        return wire_worker(
            self.app.registry.get(name), self.clients, self.environment, log=self.logs
        )

    def table(self, logical: str) -> str:
        """A table's physical name."""
        return self.topology.table(logical)

    def queue_arn(self, name: str) -> str:
        """A queue's ARN, by physical name (what a Lambda SQS record names as its source)."""
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"

    def queue_url(self, name: str) -> str:
        """A queue's URL, by physical name."""
        return self.provisioned.queue_urls[name]

    def drain(self, name: str) -> list[dict[str, Any]]:
        """Receive and delete every message on a queue (physical name), with all attributes."""
        found: list[dict[str, Any]] = []
        url = self.queue_url(name)
        while True:
            got = self.clients.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                return found
            found += got
            for message in got:
                self.clients.sqs.delete_message(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"]
                )


@contextmanager
def local_aws(app: App, *, prefix: str | None = None) -> Iterator[LocalAws]:
    """``app``'s tables, topic, queues, DLQs and subscriptions in in-process moto."""
    saved = {key: os.environ.get(key) for key in _ENV}
    os.environ.update(_ENV)
    try:
        with serialized_mock_aws():
            session = boto3.session.Session(
                botocore_session=botocore_session(),
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name=REGION,
            )
            yield LocalAws.provision(app, Clients(session), prefix)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sqs_event(
    *bodies: Envelope[Any] | str,
    queue_arn: str = f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue",
    receive_count: int = 1,
) -> dict[str, Any]:
    """A Lambda SQS event holding ``bodies`` (envelopes or raw text), one record each."""
    return {"Records": [_sqs_record(body, queue_arn, receive_count, {}) for body in bodies]}


def fifo_sqs_event(
    *bodies: Envelope[Any] | str,
    group_id: str | Callable[[Envelope[Any]], str] = "group",
    queue_arn: str = f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue.fifo",
    receive_count: int = 1,
) -> dict[str, Any]:
    """A Lambda event from a FIFO queue: each record carries its ``MessageGroupId``,
    ``MessageDeduplicationId`` (the envelope id, or a hash of raw text) and a
    ``SequenceNumber`` that grows in the order given.

    ``group_id`` is one group for every record, or a function of each envelope, e.g.
    ``lambda e: e.data["account_id"]`` for a worker declared ``group_by="account_id"``.
    """
    records = []
    for body in bodies:
        if callable(group_id):
            if not isinstance(body, Envelope):
                raise TypeError("a group_id function needs envelopes; give raw text one group")
            group = group_id(body)
        else:
            group = group_id
        dedup = body.id if isinstance(body, Envelope) else hashlib.sha256(body.encode()).hexdigest()
        fifo = {
            "MessageGroupId": str(group),
            "MessageDeduplicationId": dedup,
            "SequenceNumber": _next_sequence(),
        }
        records.append(_sqs_record(body, queue_arn, receive_count, fifo))
    return {"Records": records}


def stream_record(
    event_name: str,
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
    *,
    table: str = "table",
    sequence_number: str | None = None,
    created_at: float | None = None,
) -> dict[str, Any]:
    """One DynamoDB stream record as Lambda delivers it (NEW_AND_OLD_IMAGES).

    ``event_name`` is ``INSERT``, ``MODIFY`` or ``REMOVE``; keys and images are plain values
    (str, int, float, bool, None, lists, dicts, sets of str, bytes), written here as
    DynamoDB's typed JSON. ``table`` is the physical name (``aws.table("notes")``): a stream
    worker's ``StreamChange.table`` reads it from the record's ARN. Sequence numbers grow
    from one record to the next unless given.
    """
    if event_name not in ("INSERT", "MODIFY", "REMOVE"):
        raise ValueError(f"event_name is INSERT, MODIFY or REMOVE, not {event_name!r}")
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": time.time() if created_at is None else created_at,
        "Keys": _typed_image(keys),
        "SequenceNumber": sequence_number or _next_sequence(),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        body["NewImage"] = _typed_image(new_image)
    if old_image is not None:
        body["OldImage"] = _typed_image(old_image)
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": body,
        "eventSourceARN": (
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/2026-01-01T00:00:00.000"
        ),
    }


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    """A Lambda DynamoDB stream event holding ``records`` (from ``stream_record``), in order."""
    return {"Records": list(records)}


_SEQUENCE = itertools.count(1)


def _next_sequence() -> str:
    """A sequence number greater than every one this process made before (21 digits)."""
    return f"{next(_SEQUENCE):021d}"


def _sqs_record(
    body: Envelope[Any] | str, queue_arn: str, receive_count: int, extra: dict[str, str]
) -> dict[str, Any]:
    text = body.to_json() if isinstance(body, Envelope) else body
    now = str(int(time.time() * 1000))
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": f"rh-{uuid.uuid4().hex}",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": now,
            "SenderId": ACCOUNT,
            "ApproximateFirstReceiveTimestamp": now,
            **extra,
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def _typed_image(image: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _typed(value) for name, value in image.items()}


def _typed(value: Any) -> dict[str, Any]:
    """A plain value as DynamoDB's typed JSON."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        return {"B": base64.b64encode(value).decode()}
    if isinstance(value, Mapping):
        return {"M": _typed_image(value)}
    if isinstance(value, list | tuple):
        return {"L": [_typed(item) for item in value]}
    if isinstance(value, set | frozenset) and all(isinstance(item, str) for item in value):
        return {"SS": sorted(value)}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}: {value!r}")
