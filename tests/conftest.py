"""Shared fixtures: a fake AWS environment, in-process moto, and a provisioned pipeline."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from app import APP
from sluice.runtime import Clients, Deps, Registry, Settings, Telemetry, Worker
from sluice.runtime.wiring import wire_worker
from sluice.topology import Topology
from tests.factories import ACCOUNT, REGION

FAKE_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "MOTO_ACCOUNT_ID": ACCOUNT,
}


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever reaches real AWS: fake credentials, a fixed region, no IMDS."""
    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def moto() -> Iterator[None]:
    """In-process moto for the functional tier, taking requests one at a time like the sandbox."""
    from sluice.local.inprocess import serialized_mock_aws

    with serialized_mock_aws():
        yield


@dataclass
class Pipeline:
    """A provisioned pipeline in moto, and dependencies for running workers against it."""

    registry: Registry
    topology: Topology
    clients: Clients
    provisioned: Any
    logs: io.StringIO

    def deps(self, worker: str) -> Deps:
        """Deps for one worker; its JSON log lines go to ``self.logs``."""
        env = self.topology.worker_environment(self.provisioned.topic_arn)
        telemetry = Telemetry.for_worker(worker, stream=self.logs)
        telemetry.metrics_enabled = False
        return Deps(clients=self.clients, settings=Settings.from_env(env), telemetry=telemetry)

    def worker(self, name: str) -> Worker:
        """A registered worker wired to this pipeline."""
        env = self.topology.worker_environment(self.provisioned.topic_arn)
        return wire_worker(self.registry.get(name), self.clients, env, log=self.logs)

    def url(self, name: str) -> str:
        """A queue URL by physical name."""
        return str(self.provisioned.queue_urls[name])

    def drain(self, name: str) -> list[dict[str, Any]]:
        """Receive (and delete) every message on a queue, with all attributes."""
        found: list[dict[str, Any]] = []
        while True:
            got = self.clients.sqs.receive_message(
                QueueUrl=self.url(name),
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                return found
            found += got
            for message in got:
                self.clients.sqs.delete_message(
                    QueueUrl=self.url(name), ReceiptHandle=message["ReceiptHandle"]
                )

    def stock(self, sku: str) -> dict[str, int]:
        """The stock counters of one SKU."""
        item = self.clients.dynamodb.get_item(
            TableName=self.topology.table("state"),
            Key={"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "STOCK"}},
        ).get("Item", {})
        return {k: int(v["N"]) for k, v in item.items() if "N" in v}


@pytest.fixture
def pipeline(moto: None) -> Pipeline:
    """Every table, topic, queue and subscription of the registry, in in-process moto."""
    from sluice.local.provision import provision

    registry = APP.registry
    topology = Topology(APP)
    clients = Clients()
    provisioned = provision(clients, topology)
    return Pipeline(registry, topology, clients, provisioned, io.StringIO())
