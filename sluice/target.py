"""Which AWS the tools talk to: real AWS (default credentials) or the running sandbox.

``sluice up`` writes ``.sluice/sandbox.json``; every other command attaches to it with
``--local``. The sandbox state file is the only thing tools share with the sandbox.

A producer or a script finds the running sandbox the same way::

    from sluice.target import local

    sandbox = local()  # reads .sluice/sandbox.json (SLUICE_STATE_DIR moves it)
    sandbox.clients.dynamodb.put_item(TableName=sandbox.topology.table("notes"), Item=...)
    Publisher.to_topic(sandbox.clients.sns, sandbox.topic_arn())

and a shell with ``eval "$(sluice env --local)"`` (``Target.environment()``).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from sluice.app import App, load_app
from sluice.runtime import Clients, ConfigurationError
from sluice.sessions import botocore_session
from sluice.topology import DEFAULT_PREFIX, Topology

__all__ = [
    "SANDBOX_KEY",
    "SANDBOX_REGION",
    "STATE_DIR_ENV",
    "SandboxState",
    "Target",
    "connect",
    "local",
    "sandbox_session",
    "state_dir",
]

STATE_DIR_ENV = "SLUICE_STATE_DIR"
SANDBOX_REGION = "eu-west-1"
"""The region the sandbox plays (any region works; this one is the default)."""
SANDBOX_KEY = "sandbox"
"""The sandbox's fake access key id and secret (its moto server accepts any)."""


def state_dir() -> Path:
    """Where the sandbox keeps its state file and logs (``./.sluice`` by default)."""
    return Path(os.environ.get(STATE_DIR_ENV, ".sluice"))


@dataclass(frozen=True)
class SandboxState:
    """What ``sluice up`` tells other commands about the sandbox it runs."""

    endpoint_url: str
    api_url: str
    region: str
    prefix: str = DEFAULT_PREFIX
    log_file: str | None = None
    pid: int = 0
    started_at: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    invoke_url: str = ""
    """The API function's Lambda Invoke endpoint (a Lambda client's ``endpoint_url``)."""

    def save(self, path: Path | None = None) -> Path:
        """Write the state file (atomically)."""
        target = path or state_dir() / "sandbox.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(target)
        return target

    @classmethod
    def load(cls, path: Path | None = None) -> SandboxState:
        """The running sandbox's state, or say how to start one: a state file that ``kill -9``
        of ``sluice up`` left behind names a server that no longer answers."""
        state = cls.read(path)
        if not state.answers():
            raise ConfigurationError(
                f"the sandbox at {state.endpoint_url} is not running (pid {state.pid}): "
                "start it with `sluice up`"
            )
        return state

    @classmethod
    def read(cls, path: Path | None = None) -> SandboxState:
        """The state file as written, whether or not its sandbox still runs."""
        source = path or state_dir() / "sandbox.json"
        try:
            doc = json.loads(source.read_text())
            return cls(**doc)
        except FileNotFoundError:
            raise ConfigurationError(
                f"no sandbox is running ({source} does not exist): start one with `sluice up`"
            ) from None
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"{source} is not a sandbox state file ({exc}): remove it and run `sluice up`"
            ) from None

    def answers(self, timeout_s: float = 2.0) -> bool:
        """Whether something accepts connections at the endpoint (one TCP connect)."""
        where = urlsplit(self.endpoint_url)
        try:
            with socket.create_connection((where.hostname, where.port or 80), timeout_s):
                return True
        except (OSError, ValueError):
            return False


@dataclass
class Target:
    """Clients and names for one deployment of the pipeline."""

    clients: Clients
    topology: Topology
    local: bool
    sandbox: SandboxState | None = None

    @property
    def region(self) -> str:
        """The region in use."""
        return str(self.clients.region)

    def queue_url(self, name: str) -> str:
        """The URL of a queue by physical name, with an error that names it."""
        try:
            return str(self.clients.sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except self.clients.sqs.exceptions.QueueDoesNotExist:
            raise ConfigurationError(f"queue {name!r} does not exist in {self.where}") from None

    def topic_arn(self) -> str:
        """The events topic's ARN, derived from the caller's account."""
        account = self.clients.client("sts").get_caller_identity()["Account"]
        return f"arn:aws:sns:{self.region}:{account}:{self.topology.topic}"

    @property
    def session(self) -> Any:
        """The boto3 session the clients share (``session.client(...)`` for other services;
        pass ``endpoint_url=target.endpoint_url`` for the sandbox)."""
        return self.clients.session

    @property
    def endpoint_url(self) -> str | None:
        """The sandbox's endpoint, or None for AWS."""
        return self.sandbox.endpoint_url if self.sandbox else None

    def environment(self) -> dict[str, str]:
        """Variables that point AWS SDKs and CLIs here, with the app's ``SLUICE_*`` names
        (each table's ``SLUICE_<NAME>_TABLE``, ``SLUICE_EVENTS_TOPIC_ARN``; the sandbox's
        ``SLUICE_API_URL`` when it serves an API)."""
        env = self.topology.worker_environment(self.topic_arn())
        env |= {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self.sandbox is not None:
            env |= {
                "AWS_ENDPOINT_URL": self.sandbox.endpoint_url,
                "AWS_ACCESS_KEY_ID": SANDBOX_KEY,
                "AWS_SECRET_ACCESS_KEY": SANDBOX_KEY,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
            if self.sandbox.api_url:
                env["SLUICE_API_URL"] = self.sandbox.api_url
        return env

    @property
    def where(self) -> str:
        """Human words for the target, for messages."""
        return (
            f"the sandbox at {self.sandbox.endpoint_url}" if self.sandbox else f"AWS {self.region}"
        )


def sandbox_session(region: str = SANDBOX_REGION) -> boto3.session.Session:
    """A boto3 session with the sandbox's fake credentials (it accepts any)."""
    return boto3.session.Session(
        botocore_session=botocore_session(),
        aws_access_key_id=SANDBOX_KEY,
        aws_secret_access_key=SANDBOX_KEY,
        region_name=region,
    )


def connect(
    *,
    local: bool,
    prefix: str | None = None,
    state_file: Path | None = None,
    app: App | None = None,
) -> Target:
    """A Target for the sandbox (``local``) or for AWS with the default credential chain."""
    app = app or load_app()
    if local:
        state = SandboxState.load(state_file)
        clients = Clients(sandbox_session(state.region), endpoint_url=state.endpoint_url)
        return Target(clients, Topology(app, prefix or state.prefix), True, state)
    session = boto3.session.Session(botocore_session=botocore_session())
    if not session.region_name:
        raise ConfigurationError("no AWS region configured: set AWS_REGION or use --local")
    return Target(Clients(session), Topology(app, prefix), False)


def local(*, state_file: Path | None = None, app: App | None = None) -> Target:
    """The running sandbox (``sluice up``): boto3 clients pointed at it (``.clients.sqs``,
    ``.sns``, ``.dynamodb``, ``.client(name)``) and its physical names (``.topology``,
    ``.topic_arn()``, ``.queue_url(name)``). The app is the project's at or above the working
    directory unless given; without a running sandbox, a ConfigurationError says to start one.
    """
    return connect(local=True, state_file=state_file, app=app)
