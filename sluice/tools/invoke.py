"""``sluice invoke``: one local invocation of a worker's real handler, like ``sam local invoke``,
or of the API function with a direct-invoke payload (``sluice invoke api --payload FILE``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import IO, Any

from aws_lambda_powertools import Logger
from botocore.config import Config

from sluice.app import App, load_app
from sluice.local.function import ACCOUNT, LambdaContext
from sluice.local.inprocess import serialized_mock_aws
from sluice.local.provision import provision
from sluice.runtime import Clients, ConfigurationError, Settings, Worker
from sluice.runtime.wiring import wire_worker
from sluice.target import SANDBOX_REGION, SandboxState, connect, sandbox_session
from sluice.topology import Topology


def load_event(source: str, app: App) -> dict[str, Any]:
    """An event from a file, or by the name of one of the app's samples (e.g. ``sqs_raw``)."""
    path = Path(source)
    text = path.read_text() if path.exists() else _sample(path.stem, source, app)
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"{source} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigurationError(f"{source} must hold a JSON object (a Lambda event)")
    return doc


def _sample(name: str, source: str, app: App) -> str:
    """``samples/<name>.json`` of the app's samples package, or an error listing them."""
    if app.samples is None:
        raise ConfigurationError(
            f"no event file {source!r}, and the app declares no samples: give a file, or set "
            "App(samples='<package>') to a package holding samples/*.json"
        )
    folder = resources.files(app.samples).joinpath("samples")
    sample = folder.joinpath(f"{name}.json")
    if not sample.is_file():
        known = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))
        raise ConfigurationError(
            f"no event file {source!r}, and no sample of that name in {app.samples}/samples "
            f"(samples: {', '.join(known) or 'none'})"
        )
    return sample.read_text()


@contextmanager
def in_process_moto(topology: Topology) -> Iterator[tuple[Clients, str]]:
    """In-process moto with the topology provisioned (for a sandbox-free invocation)."""
    with serialized_mock_aws():
        clients = Clients(sandbox_session())
        yield clients, provision(clients, topology).topic_arn


def invoke_once(
    name: str, event: dict[str, Any], *, local: bool, log: IO[str], app: App | None = None
) -> Any:
    """Run one invocation and return the handler's response (or Lambda's error document)."""
    app = app or load_app()
    declared = app.registry.get(name)
    if local:
        target = connect(local=True, app=app)
        topic_arn = target.topic_arn()
        return _call(declared, event, target.clients, target.topology, topic_arn=topic_arn, log=log)
    topology = Topology(app)
    with in_process_moto(topology) as (clients, topic_arn):
        return _call(declared, event, clients, topology, topic_arn=topic_arn, log=log)


def _call(
    declared: Worker,
    event: dict[str, Any],
    clients: Clients,
    topology: Topology,
    *,
    topic_arn: str,
    log: IO[str],
) -> Any:
    worker = wire_worker(declared, clients, topology.worker_environment(topic_arn), log=log)
    region = clients.region or SANDBOX_REGION
    context = LambdaContext.for_worker(worker.spec, region, topology.prefix)
    try:
        return worker.handler(event, context)
    except Exception as exc:  # Lambda answers a function error with this document
        return {"errorMessage": str(exc), "errorType": type(exc).__name__}


def load_payload(source: Path) -> Any:
    """A direct-invoke payload from a JSON file (any JSON: a bad one gets a problem answer)."""
    try:
        return json.loads(source.read_text())
    except OSError as exc:
        raise ConfigurationError(f"cannot read the payload {source}: {exc}") from None
    except ValueError as exc:
        raise ConfigurationError(f"{source} is not JSON: {exc}") from None


def invoke_api(payload: Any, *, local: bool, log: IO[str], app: App | None = None) -> Any:
    """Call the API function once with a direct payload: its answer, or Lambda's error document.

    ``local`` goes through the running sandbox's Lambda Invoke endpoint, as a producer would;
    otherwise the function runs here on in-process moto with the topology provisioned.
    """
    app = app or load_app()
    if app.api is None:
        raise ConfigurationError("the app declares no API: add App(api=Api(...)) to invoke it")
    if local:
        state = SandboxState.load()
        if not state.invoke_url:
            raise ConfigurationError(
                "the running sandbox serves no Lambda Invoke endpoint: restart it with `sluice up`"
            )
        return _invoke_sandbox(payload, state, f"{state.prefix}-{app.api.name}")
    topology = Topology(app)
    with in_process_moto(topology) as (clients, topic_arn):
        settings = Settings.from_env(topology.worker_environment(topic_arn))
        logger = Logger(service=app.api.name, stream=log)
        handler = app.api.factory(clients, settings, logger)
        name = f"{topology.prefix}-{app.api.name}"
        context = LambdaContext(
            function_name=name,
            memory_limit_in_mb=256,
            invoked_function_arn=f"arn:aws:lambda:{SANDBOX_REGION}:{ACCOUNT}:function:{name}",
            timeout_s=29,
        )
        try:
            return handler(payload, context)
        except Exception as exc:  # Lambda answers a function error with this document
            return {"errorMessage": str(exc), "errorType": type(exc).__name__}


def _invoke_sandbox(payload: Any, state: SandboxState, function_name: str) -> Any:
    client = sandbox_session(state.region).client(
        "lambda", endpoint_url=state.invoke_url, config=Config(retries={"total_max_attempts": 1})
    )
    response = client.invoke(FunctionName=function_name, Payload=json.dumps(payload).encode())
    return json.loads(response["Payload"].read() or b"null")
