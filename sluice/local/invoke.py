"""One local invocation of a worker's real handler, like ``sam local invoke``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import IO, Any

import boto3

from sluice.app import load_app
from sluice.local.context import LambdaContext
from sluice.local.inprocess import serialized_mock_aws
from sluice.local.provision import provision
from sluice.runtime import Clients, ConfigurationError, Deps, Settings, Telemetry, Worker
from sluice.target import connect
from sluice.topology import Topology

REGION = "eu-west-1"


def load_event(source: str) -> dict[str, Any]:
    """An event from a file, or by the name of a bundled sample (e.g. ``sqs_raw``)."""
    path = Path(source)
    if not path.exists():
        sample = resources.files("events").joinpath(f"samples/{path.stem}.json")
        if not sample.is_file():
            raise ConfigurationError(f"no event file {source!r} (and no sample of that name)")
        text = sample.read_text()
    else:
        text = path.read_text()
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"{source} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigurationError(f"{source} must hold a JSON object (a Lambda event)")
    return doc


@contextmanager
def in_process_moto(topology: Topology) -> Iterator[tuple[Clients, str]]:
    """In-process moto with the topology provisioned (for a sandbox-free invocation)."""
    session = boto3.session.Session(
        aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name=REGION
    )
    with serialized_mock_aws():
        clients = Clients(session)
        yield clients, provision(clients, topology).topic_arn


def invoke_once(name: str, event: dict[str, Any], *, local: bool, log: IO[str]) -> Any:
    """Run one invocation and return the handler's response (or Lambda's error document)."""
    app = load_app()
    registry = app.registry
    declared = registry.get(name)
    if local:
        target = connect(local=True)
        return _call(
            declared, event, target.clients, target.topology, topic_arn=target.topic_arn(), log=log
        )
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
    spec = declared.spec
    telemetry = Telemetry.for_worker(spec.name, stream=log)
    telemetry.metrics_enabled = False
    settings = Settings.from_env(topology.worker_environment(topic_arn))
    worker = Worker(spec=spec, fn=declared.fn, catalog=declared.catalog)
    worker.use(Deps(clients, settings, telemetry))
    context = LambdaContext.for_worker(spec, clients.region or REGION, topology.prefix)
    try:
        return worker.handler(event, context)
    except Exception as exc:  # Lambda answers a function error with this document
        return {"errorMessage": str(exc), "errorType": type(exc).__name__}
