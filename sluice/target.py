"""Which AWS the tools talk to: real AWS (default credentials) or the running sandbox.

``sluice up`` writes ``.sluice/sandbox.json``; every other command attaches to it with
``--local``. The sandbox state file is the only thing tools share with the sandbox.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import boto3

from sluice.app import App, load_app
from sluice.runtime import Clients, ConfigurationError
from sluice.sessions import botocore_session
from sluice.topology import DEFAULT_PREFIX, Topology

STATE_DIR_ENV = "SLUICE_STATE_DIR"
SANDBOX_REGION = "eu-west-1"
"""The region the sandbox plays (any region works; this one is the default)."""


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
    def where(self) -> str:
        """Human words for the target, for messages."""
        return (
            f"the sandbox at {self.sandbox.endpoint_url}" if self.sandbox else f"AWS {self.region}"
        )


def sandbox_session(region: str = SANDBOX_REGION) -> boto3.session.Session:
    """A boto3 session with the sandbox's fake credentials (it accepts any)."""
    return boto3.session.Session(
        botocore_session=botocore_session(),
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
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
