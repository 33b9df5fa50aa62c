"""The small app's declaration, as a ``sluice new`` project's ``app.py`` would hold it."""

from __future__ import annotations

from pathlib import Path

from sluice.app import App, Schedule, Table
from tests.infra.shop.events import CART_CHECKED_OUT, CATALOG

ROOT = Path(__file__).resolve().parents[3]

SHOP = App(
    name="shop",
    catalog=CATALOG,
    workers="tests.infra.shop.workers",
    tables=(Table("carts", partition_key="id", stream=True),),
    # Shipped from the project root, so the functions import it as the tests do.
    code=("tests/infra/shop",),
    prefix="shop",
    # Straight to one worker's queue (the reference app's schedule publishes to the topic).
    schedules=(
        Schedule(
            "hourly-nudge",
            "rate(1 hour)",
            CART_CHECKED_OUT,
            {"cart_id": "scheduled"},
            target="notify",
        ),
    ),
    root=ROOT,
)
