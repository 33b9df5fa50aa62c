"""The orders app, declared once: its tables, its catalog, its workers and its API.

``[tool.sluice] app = "app:APP"`` in pyproject.toml points the framework here. The CDK app,
the sandbox, ``sluice dlq``, ``sluice graph`` and the demo all read this declaration.
"""

from __future__ import annotations

from pathlib import Path

from events import CATALOG, STOCK_AUDIT_REQUESTED
from producers.api import build
from producers.operations import OPERATIONS, PLACE_ORDER
from sluice.app import Api, App, Route, Schedule, Table

APP = App(
    name="orders",
    catalog=CATALOG,
    workers="workers",
    tables=(
        Table("orders", partition_key="id", stream=True),
        Table("state", partition_key="pk", sort_key="sk"),
    ),
    api=Api(
        handler="producers.api.handler",
        factory=build,
        routes=tuple(
            Route(op.method, op.path, body=op is PLACE_ORDER, op=op.name)
            for op in OPERATIONS.operations
        ),
        tables=("orders",),
        description="Accepts orders and writes them to the orders table (storage first).",
    ),
    code=("events", "producers", "workers"),
    schedules=(
        Schedule(
            "nightly-stocktake",
            "cron(0 2 * * ? *)",
            STOCK_AUDIT_REQUESTED,
            {"scope": "all", "requested_by": "nightly-stocktake"},
            timezone="Europe/Paris",
            description="A stock audit every night at 02:00 Paris time.",
        ),
    ),
    samples="events",
    demo="demo:OrdersDemo",
    root=Path(__file__).resolve().parent,
)
