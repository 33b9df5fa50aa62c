"""A ``Runner`` for one worker of an app: on AWS (from the task's environment) or on an
SQS endpoint such as the sandbox's moto server."""

from __future__ import annotations

import os
import threading
import time
from typing import IO, Any

import boto3

from sluice.app import App
from sluice.container.health import HealthFile
from sluice.container.protection import ScaleInProtection
from sluice.container.runner import Runner, WorkSettings
from sluice.local.containers import PARENT_ENV as PARENT_ENV  # noqa: PLC0414
from sluice.local.containers import QUEUE_WAIT_ENV
from sluice.local.logs import LoggedMetrics
from sluice.runtime import Clients, ConfigurationError, Worker
from sluice.runtime.wiring import wire_worker
from sluice.target import sandbox_session
from sluice.topology import Topology

QUEUE_URL_ENV = "SLUICE_QUEUE_URL"
"""Set on the container by the CDK app: the worker's queue."""


def queue_worker(app: App, name: str) -> Worker:
    """The app's worker ``name``, if it reads a queue (a stream worker has no queue)."""
    found = app.registry.get(name)
    if not found.spec.source.is_queue:
        raise ConfigurationError(
            f"worker {name!r} reads a DynamoDB stream; `sluice work` consumes SQS queues only"
        )
    return found


def aws_runner(app: App, name: str, settings: WorkSettings, health: HealthFile) -> Runner:
    """The runner an ECS task starts: settings, queue and credentials from its environment."""
    declared = queue_worker(app, name)
    region = boto3.session.Session().region_name
    if not region:
        raise ConfigurationError("no AWS region configured: set AWS_REGION (ECS sets it)")
    sqs = declared.deps.clients.sqs
    url = os.environ.get(QUEUE_URL_ENV) or str(
        sqs.get_queue_url(QueueName=Topology(app).queues(declared.spec).queue)["QueueUrl"]
    )
    return Runner(
        declared,
        sqs,
        url,
        region=region,
        settings=settings,
        protection=ScaleInProtection.from_environment(),
        health=health,
    )


def endpoint_runner(
    app: App,
    name: str,
    settings: WorkSettings,
    *,
    endpoint_url: str,
    region: str,
    prefix: str | None,
    log: IO[str],
    health: HealthFile,
) -> Runner:
    """A runner on the sandbox at ``endpoint_url``, logging JSON lines (metrics as lines)."""
    topology = Topology(app, prefix)
    declared = queue_worker(app, name)
    clients = Clients(sandbox_session(region), endpoint_url=endpoint_url, max_pool=64)
    account = clients.client("sts").get_caller_identity()["Account"]
    topic_arn = f"arn:aws:sns:{region}:{account}:{topology.topic}"
    wired = wire_worker(
        declared,
        clients,
        topology.worker_environment(topic_arn),
        log=log,
        telemetry=LoggedMetrics,
    )
    wait_s = float(os.environ.get(QUEUE_WAIT_ENV) or 0)
    url = _queue_url(clients.sqs, topology.queues(wired.spec).queue, wait_s)
    return Runner(
        wired,
        clients.sqs,
        url,
        region=region,
        settings=settings,
        protection=ScaleInProtection.from_environment(),
        health=health,
    )


def _queue_url(sqs: Any, name: str, wait_s: float) -> str:
    """The queue's URL; a sandbox child (``wait_s`` > 0) waits for the queue to be created."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except sqs.exceptions.QueueDoesNotExist:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def stop_with_parent(runner: Runner, parent: int, every_s: float = 1.0) -> threading.Thread:
    """Stop ``runner`` (a drain, as on SIGTERM) as soon as ``parent`` is no longer ours."""

    def watch() -> None:
        while not runner.stopping:
            if os.getppid() != parent:
                runner.log.warning("parent process gone; draining", extra={"parent": parent})
                runner.stop()
                return
            time.sleep(every_s)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread
