"""A declared worker wired to run outside Lambda: the sandbox, ``sluice invoke``, replays, tests.

Never used inside a Lambda, where ``Worker.handler`` builds its ``Deps`` from the
environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO

from sluice.runtime.context import Clients, Deps, Settings
from sluice.runtime.middleware import Middleware
from sluice.runtime.telemetry import Telemetry
from sluice.runtime.worker import Worker


def quiet_deps(
    name: str,
    clients: Clients,
    environment: Mapping[str, str],
    *,
    log: IO[str] | None,
    telemetry: type[Telemetry] = Telemetry,
    middleware: tuple[Middleware, ...] = (),
) -> Deps:
    """Deps for a worker called ``name``: the settings ``environment`` names, JSON logs to
    ``log``, and EMF metrics off, since no CloudWatch reads this process's stdout."""
    quiet = telemetry.for_worker(name, stream=log)
    quiet.metrics_enabled = False
    return Deps(clients, Settings.from_env(environment), quiet, middleware=middleware)


def wire_worker(
    declared: Worker,
    clients: Clients,
    environment: Mapping[str, str],
    *,
    log: IO[str] | None,
    telemetry: type[Telemetry] = Telemetry,
    middleware: tuple[Middleware, ...] = (),
) -> Worker:
    """A copy of ``declared`` on these clients, with the settings ``environment`` names.

    ``environment`` holds the ``SLUICE_*`` variables a deployed function would have
    (``Topology.worker_environment``); see ``quiet_deps``. The declared worker is left
    untouched.
    """
    deps = quiet_deps(
        declared.spec.name,
        clients,
        environment,
        log=log,
        telemetry=telemetry,
        middleware=middleware,
    )
    return Worker(spec=declared.spec, fn=declared.fn, catalog=declared.catalog).use(deps)
