"""The whole pipeline on one machine: moto server, topology, API over HTTP, pollers, one log.

``Sandbox`` is what ``sluice up``, ``sluice demo``, the ``sandbox`` pytest fixture and the
benchmark all start. Workers run in this process against the moto server, each with its
own ``Deps`` built from the topology (never from ``os.environ``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sluice.app import App, load_app
from sluice.local.containers import ContainerProcess
from sluice.local.http_front import ApiServer, ProxyHandler
from sluice.local.invoke_front import InvokeServer
from sluice.local.logs import LoggedMetrics, LogSink, Streams, worker_streams
from sluice.local.provision import Provisioned, provision
from sluice.local.scheduler import Clock, LocalScheduler, SystemClock
from sluice.local.server import MotoServer
from sluice.local.sqs_poller import SqsPoller
from sluice.local.stream_poller import StreamPoller
from sluice.local.tally import Tally, queue_names
from sluice.runtime import (
    Clients,
    ConfigurationError,
    Middleware,
    Registry,
    Runtime,
    Settings,
    Source,
    Worker,
)
from sluice.runtime.wiring import wire_worker
from sluice.target import SANDBOX_REGION, SandboxState, sandbox_session
from sluice.topology import Topology

SANDBOX_STAGE = "sandbox"
"""The stage name ``App(runtimes=...)`` overrides apply to in the sandbox."""


@dataclass
class Sandbox:
    """Start with ``start()`` (or ``with Sandbox(...) as box``); ``stop()`` undoes all of it."""

    app: App = field(default_factory=load_app)
    prefix: str | None = None
    """None: the app's own prefix."""
    port: int = 0
    api_port: int = 0
    invoke_port: int = 0
    """Where the API function's Lambda Invoke endpoint listens (0: a free port)."""
    sink: LogSink = field(default_factory=lambda: LogSink(None))
    api_handler: ProxyHandler | None = None
    region: str = SANDBOX_REGION
    serve_api: bool = True
    api_environments: int = 4
    middleware: tuple[Middleware, ...] = ()
    """Given to every worker's ``Deps`` (what ``SLUICE_MIDDLEWARE`` does on AWS)."""
    botocore_hooks: tuple[tuple[str, Callable[..., Any]], ...] = ()
    """``(event name, handler)`` pairs registered on the sandbox's botocore session before
    any client exists, e.g. ``("before-send.sqs", handler)``; the chaos suite injects faults
    this way."""
    hosted_elsewhere: tuple[str, ...] = ()
    """Queue workers whose poller another process runs against this sandbox (``sluice up
    --hosted-elsewhere``: the operator runs ``sluice work NAME --local``; the chaos suite kills
    and restarts such a process); the sandbox provisions their queues but polls none."""
    tally: Tally = field(default_factory=Tally)
    clock: Clock = field(default_factory=SystemClock)
    """What the scheduler reads the time from (a ``ManualClock`` in tests)."""
    schedule_state: Path | None = None
    """Where the scheduler keeps each schedule's last fired slot (None: in memory only)."""
    scheduler: LocalScheduler | None = None
    server: MotoServer | None = None
    clients: Clients | None = None
    provisioned: Provisioned | None = None
    api: ApiServer | None = None
    invoke: InvokeServer | None = None
    workers: dict[str, Worker] = field(default_factory=dict)
    pollers: list[SqsPoller | StreamPoller | ContainerProcess] = field(default_factory=list)
    """The Lambda-style pollers, and a ``sluice work`` child per container worker."""
    started_at: str = ""
    startup_s: float = 0.0
    _streams: Streams = field(default_factory=lambda: Streams({}), repr=False)

    @property
    def registry(self) -> Registry:
        """The app's workers."""
        return self.app.registry

    @property
    def topology(self) -> Topology:
        """Names of everything."""
        return Topology(self.app, self.prefix)

    def start(self) -> Sandbox:
        """Server, resources, workers, pollers and API, in that order."""
        began = time.perf_counter()
        self._check_hosted_elsewhere()
        self.sink.listeners.append(self.tally)
        moto_log = self.sink.path.with_suffix(".moto.log") if self.sink.path else None
        self.server = MotoServer(port=self.port, region=self.region, log_path=moto_log).start()
        session = sandbox_session(self.region)
        for event_name, hook in self.botocore_hooks:
            session.events.register(event_name, hook)
        self.clients = Clients(session, endpoint_url=self.server.endpoint_url, max_pool=64)
        try:
            self._launch_containers()  # they import while the rest starts, and wait for a queue
            self.provisioned = provision(self.clients, self.topology)
            environment = self.environment()
            self._streams = worker_streams(item.spec.name for item in self.registry)
            for item in self.registry:
                self.workers[item.spec.name] = wire_worker(
                    item,
                    self.clients,
                    environment,
                    log=self.sink,  # type: ignore[arg-type]
                    telemetry=LoggedMetrics,
                    middleware=self.middleware,
                )
            self._start_pollers()
            if self.serve_api and (self.api_handler or self.app.api):
                handlers = [self.api_handler] if self.api_handler else self._api_handlers()
                self.api = ApiServer(
                    handlers,
                    self.sink,
                    port=self.api_port,
                    region=self.region,
                    prefix=self.topology.prefix,
                ).start()
                self.invoke = InvokeServer(
                    self.api,
                    self.api_function,
                    self.sink,
                    region=self.region,
                    port=self.invoke_port,
                ).start()
            self._containers_ready()
            self._start_scheduler()  # last: a due slot fires once every consumer is up
        except BaseException:
            self.stop()
            raise
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.startup_s = time.perf_counter() - began
        self.sink.event(
            "sandbox started",
            worker="sandbox",
            correlation_id="-",
            endpoint_url=self.endpoint_url,
            api_url=self.api_url,
            invoke_url=self.invoke_url,
            startup_ms=round(self.startup_s * 1000),
        )
        return self

    def stop(self) -> None:
        """Stop the API, then the pollers (in-flight batches finish), then the server."""
        if self.invoke is not None:
            self.invoke.stop()
            self.invoke = None
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        for poller in self.pollers:
            poller.halt()
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.sink.flush()
        self._streams.restore()  # another sandbox of this process logs where it did before

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        """The moto server's URL."""
        assert self.server is not None, "start() the sandbox first"
        return self.server.endpoint_url

    @property
    def api_url(self) -> str:
        """The API's base URL ("" when the API is not served)."""
        return self.api.url if self.api is not None else ""

    @property
    def invoke_url(self) -> str:
        """The Lambda Invoke endpoint of the API function ("" when the API is not served)."""
        return self.invoke.url if self.invoke is not None else ""

    @property
    def api_function(self) -> str:
        """The API function's name, as Lambda Invoke callers name it."""
        name = self.app.api.name if self.app.api is not None else "api"
        return f"{self.topology.prefix}-{name}"

    def environment(self) -> dict[str, str]:
        """The ``SLUICE_*`` variables a function deployed in this sandbox would have."""
        assert self.provisioned is not None
        return self.topology.worker_environment(self.provisioned.topic_arn)

    def state(self, log_file: Path | None) -> SandboxState:
        """What other commands need to attach with ``--local``."""
        return SandboxState(
            endpoint_url=self.endpoint_url,
            api_url=self.api_url,
            invoke_url=self.invoke_url,
            region=self.region,
            prefix=self.topology.prefix,
            log_file=str(log_file) if log_file else None,
            pid=os.getpid(),
            started_at=self.started_at,
        )

    def queue_url(self, name: str) -> str:
        """A provisioned queue's URL by physical name."""
        assert self.provisioned is not None
        return self.provisioned.queue_urls[name]

    def depths(self) -> dict[str, tuple[int, int]]:
        """Each queue worker's (messages on its queue, messages in its DLQ)."""
        assert self.clients is not None
        out = {}
        for worker, (queue, dlq) in queue_names(self.topology).items():
            out[worker] = (self._depth(queue), self._depth(dlq))
        return out

    def _depth(self, name: str) -> int:
        assert self.clients is not None
        attrs = self.clients.sqs.get_queue_attributes(
            QueueUrl=self.queue_url(name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    def _api_handlers(self) -> list[ProxyHandler]:
        """The app's API, one handler per execution environment, on the sandbox's tables."""
        from aws_lambda_powertools import Logger

        api = self.app.api
        assert api is not None and self.clients is not None
        settings = Settings.from_env(self.environment())
        handlers: list[ProxyHandler] = []
        for index in range(self.api_environments):
            # A logger per environment: Powertools shares correlation keys per service name.
            logger = Logger(service=f"{api.name}-{index + 1}", stream=self.sink, worker=api.name)  # type: ignore[arg-type]
            logger.registered_handler.setStream(self.sink)  # type: ignore[attr-defined]
            handlers.append(api.factory(self.clients, settings, logger))
        return handlers

    def _start_scheduler(self) -> None:
        assert self.clients is not None and self.provisioned is not None
        if not self.app.schedules:
            return
        provisioned = self.provisioned
        self.scheduler = LocalScheduler(
            self.clients,
            self.topology,
            lambda name: (
                provisioned.topic_arn if name == self.topology.topic else self.queue_url(name)
            ),
            self.app.schedules,
            clock=self.clock,
            state=self.schedule_state,
            sink=self.sink,
        ).start()

    def _start_pollers(self) -> None:
        assert self.clients is not None and self.provisioned is not None
        common: dict[str, Any] = {
            "sink": self.sink,
            "region": self.region,
            "prefix": self.topology.prefix,
        }
        for item in self.workers.values():
            spec = item.spec
            poller: SqsPoller | StreamPoller
            if spec.name in self.hosted_elsewhere or spec.name in self._container_workers:
                continue  # a container child was launched before provisioning
            if spec.source is Source.STREAM:
                assert spec.table is not None
                queue = self.topology.stream_failure_queue(spec)
                arn = self.provisioned.stream_arns[spec.table]
                poller = StreamPoller(
                    item,
                    self.clients,
                    arn,
                    self.queue_url(queue),
                    failure_bucket=self.provisioned.failure_buckets.get(queue),
                    **common,
                )
            else:
                url = self.queue_url(self.topology.queues(spec).queue)
                poller = SqsPoller(item, self.clients.sqs, url, **common)
            self.pollers.append(poller)
            poller.start()

    @cached_property
    def _container_workers(self) -> frozenset[str]:
        """The workers the sandbox stage runs as ``sluice work`` children."""
        placed = self.app.for_stage(SANDBOX_STAGE).registry
        return frozenset(w.spec.name for w in placed if w.spec.runtime is Runtime.CONTAINER)

    def _launch_containers(self) -> None:
        """Start each container worker's child without waiting: it imports while the sandbox
        provisions and starts the rest, waits for its queue, and ``_containers_ready()``
        waits for it."""
        for item in self.registry:
            spec = item.spec
            if spec.name in self.hosted_elsewhere or spec.name not in self._container_workers:
                continue
            child = ContainerProcess(
                spec,
                root=self.app.root,
                endpoint_url=self.endpoint_url,
                region=self.region,
                prefix=self.topology.prefix,
                sink=self.sink,
            )
            self.pollers.append(child)
            child.launch()

    def _check_hosted_elsewhere(self) -> None:
        """Each worker hosted elsewhere is one of the app's, and reads a queue."""
        for name in self.hosted_elsewhere:
            if self.registry.get(name).spec.source is Source.STREAM:
                raise ConfigurationError(
                    f"worker {name!r} reads a DynamoDB stream, which only the sandbox polls: "
                    "only queue workers can be hosted elsewhere (`sluice work` consumes queues)"
                )

    def _containers_ready(self) -> None:
        for poller in self.pollers:
            if isinstance(poller, ContainerProcess):
                poller.wait_ready()
