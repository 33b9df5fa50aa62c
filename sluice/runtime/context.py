"""What a worker needs from the outside world, built once per process and injectable."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from botocore.config import Config

from sluice.runtime.effects import Effects
from sluice.runtime.errors import ConfigurationError
from sluice.runtime.middleware import ENV_MIDDLEWARE, Middleware, load_middleware
from sluice.runtime.queues import QueueOps
from sluice.runtime.sqs_event import RECEIVE_READ_TIMEOUT_S
from sluice.runtime.telemetry import Telemetry
from sluice.sessions import botocore_session

ENV_TOPIC = "SLUICE_EVENTS_TOPIC_ARN"
_ENV_TABLE = re.compile(r"^SLUICE_([A-Z][A-Z0-9_]*)_TABLE$")
READ_TIMEOUT_S = 20
"""How long a client waits for an answer; SQS clients wait longer, to outlast a long poll."""


def table_variable(logical: str) -> str:
    """The variable that names a logical table: ``state`` -> ``SLUICE_STATE_TABLE``."""
    return f"SLUICE_{logical.upper()}_TABLE"


@dataclass(frozen=True)
class Settings:
    """Names of the resources a worker touches, read from the environment once."""

    tables: Mapping[str, str] = field(default_factory=dict)
    topic_arn: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``SLUICE_*`` variables; absent ones fail only when first needed."""
        env = os.environ if environ is None else environ
        tables = {
            found.group(1).lower(): value
            for var, value in env.items()
            if value and (found := _ENV_TABLE.match(var))
        }
        return cls(tables=tables, topic_arn=env.get(ENV_TOPIC) or None)

    def table(self, logical: str) -> str:
        """The physical name of a logical table, or a sentence saying what to set."""
        try:
            return self.tables[logical]
        except KeyError:
            var = table_variable(logical)
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
    """Lazily created AWS clients that share one session; safe to share across threads.

    The default session is botocore's own (on the process's shared loader of service models,
    ``sluice.sessions``): a Lambda needs no more of boto3, and not importing it saves ~40 ms of
    every cold start. A ``boto3.session.Session`` (or any object with boto3's ``client()``)
    may be passed instead.
    """

    def __init__(
        self, session: Any = None, *, endpoint_url: str | None = None, max_pool: int = 32
    ) -> None:
        self.session = session if session is not None else botocore_session()
        self.endpoint_url = endpoint_url
        self._factory = getattr(self.session, "client", None) or self.session.create_client
        self._config = Config(
            max_pool_connections=max_pool,
            retries={"mode": "standard", "max_attempts": 4},
            connect_timeout=5,
            read_timeout=READ_TIMEOUT_S,
        )
        self._sqs_config = self._config.merge(Config(read_timeout=RECEIVE_READ_TIMEOUT_S))
        self._lock = threading.Lock()
        self._made: dict[str, Any] = {}

    @property
    def region(self) -> str | None:
        """The session's region."""
        name = getattr(self.session, "region_name", None)
        return name or self.session.get_config_variable("region")  # type: ignore[no-any-return]

    def client(self, service: str) -> Any:
        """A new client for ``service`` (the cached properties below are the usual way)."""
        with self._lock:  # creating clients from one session is not thread-safe
            config = self._sqs_config if service == "sqs" else self._config
            return self._factory(service, endpoint_url=self.endpoint_url, config=config)

    def cached(self, service: str) -> Any:
        """One shared client per service."""
        found = self._made.get(service)
        if found is None:
            found = self._made.setdefault(service, self.client(service))
        return found

    @property
    def dynamodb(self) -> Any:
        """DynamoDB client."""
        return self.cached("dynamodb")

    @property
    def sqs(self) -> Any:
        """SQS client."""
        return self.cached("sqs")

    @property
    def sns(self) -> Any:
        """SNS client."""
        return self.cached("sns")


@dataclass
class Deps:
    """Clients, settings and telemetry handed to the engine and to worker functions."""

    clients: Clients
    settings: Settings
    telemetry: Telemetry
    middleware: tuple[Middleware, ...] = ()
    effects: Effects | None = None
    """Set per record by the engine; see ``transact``."""

    def transact(self, items: list[dict[str, Any]]) -> None:
        """Write a record's DynamoDB effects in one transaction, atomically with the record's
        idempotency completion: the effect happens exactly once, even across a crash."""
        effects = self.effects or Effects(self.clients.dynamodb)
        effects.transact(items)

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
            middleware=load_middleware(os.environ.get(ENV_MIDDLEWARE, "")),
        )
