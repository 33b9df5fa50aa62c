"""What a worker needs from the outside world, built once per process and injectable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from sluice.runtime.errors import ConfigurationError
from sluice.runtime.queues import QueueOps
from sluice.runtime.telemetry import Telemetry

ENV_TABLES = {
    "orders": "SLUICE_ORDERS_TABLE",
    "idempotency": "SLUICE_IDEMPOTENCY_TABLE",
    "state": "SLUICE_STATE_TABLE",
}
ENV_TOPIC = "SLUICE_EVENTS_TOPIC_ARN"


@dataclass(frozen=True)
class Settings:
    """Names of the resources a worker touches, read from the environment once."""

    tables: Mapping[str, str] = field(default_factory=dict)
    topic_arn: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``SLUICE_*`` variables; absent ones fail only when first needed."""
        env = os.environ if environ is None else environ
        tables = {name: env[var] for name, var in ENV_TABLES.items() if env.get(var)}
        return cls(tables=tables, topic_arn=env.get(ENV_TOPIC) or None)

    def table(self, logical: str) -> str:
        """The physical name of a logical table, or a sentence saying what to set."""
        try:
            return self.tables[logical]
        except KeyError:
            var = ENV_TABLES.get(logical, f"SLUICE_{logical.upper()}_TABLE")
            raise ConfigurationError(
                f"{var} is not set: the CDK app sets it on each function that uses the "
                f"{logical!r} table, and `sluice up` sets it in the sandbox"
            ) from None

    def topic(self) -> str:
        """The events topic ARN, or a sentence saying what to set."""
        if not self.topic_arn:
            raise ConfigurationError(f"{ENV_TOPIC} is not set (the CDK app and the sandbox set it)")
        return self.topic_arn


class Clients:
    """Lazily created boto3 clients that share one session; safe to share across threads."""

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        *,
        endpoint_url: str | None = None,
        max_pool: int = 32,
    ) -> None:
        self.session = session or boto3.session.Session()
        self.endpoint_url = endpoint_url
        self._config = Config(
            max_pool_connections=max_pool,
            retries={"mode": "standard", "max_attempts": 4},
            connect_timeout=5,
            read_timeout=20,
        )

    def client(self, service: str) -> Any:
        """A new client for ``service`` (the cached properties below are the usual way)."""
        make: Any = self.session.client  # one generic factory, not one overload per service
        return make(service, endpoint_url=self.endpoint_url, config=self._config)

    @cached_property
    def dynamodb(self) -> Any:
        """DynamoDB client."""
        return self.client("dynamodb")

    @cached_property
    def sqs(self) -> Any:
        """SQS client."""
        return self.client("sqs")

    @cached_property
    def sns(self) -> Any:
        """SNS client."""
        return self.client("sns")


@dataclass
class Deps:
    """Clients, settings and telemetry handed to the engine and to worker functions."""

    clients: Clients
    settings: Settings
    telemetry: Telemetry

    @cached_property
    def queues(self) -> QueueOps:
        """DLQ sends and visibility changes, with the queue lookups cached."""
        return QueueOps(self.clients.sqs, self.telemetry.worker)

    @classmethod
    def from_environment(cls, worker_name: str) -> Deps:
        """Everything from the process environment (what a Lambda function has)."""
        return cls(
            clients=Clients(),
            settings=Settings.from_env(),
            telemetry=Telemetry.for_worker(worker_name),
        )
