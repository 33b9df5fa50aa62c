"""Test helpers for an app: its whole topology in in-process moto, its workers wired to it.

::

    from sluice.testing import local_aws

    def test_counts_words() -> None:
        with local_aws(APP) as aws:
            worker = aws.worker("words")
            assert worker.handler(sqs_event(...), None) == {"batchItemFailures": []}

Requests to moto are taken one at a time (``serialized_mock_aws``), as the sandbox's
server takes them, so workers that run records on threads test Sluice, not moto's races.
Credentials and region are the helper's own: nothing reaches AWS, and no environment
variable needs setting.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from sluice.app import App
from sluice.core import Envelope
from sluice.local.inprocess import serialized_mock_aws
from sluice.local.provision import Provisioned, provision
from sluice.runtime import Clients, Deps, Worker
from sluice.runtime.wiring import quiet_deps, wire_worker
from sluice.sessions import botocore_session
from sluice.topology import Topology

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
    records = []
    for body in bodies:
        text = body.to_json() if isinstance(body, Envelope) else body
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"rh-{uuid.uuid4().hex}",
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}
