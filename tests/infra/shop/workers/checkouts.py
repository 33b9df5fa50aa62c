"""checkouts: batch-processes the carts table's stream and publishes to the topic."""

from __future__ import annotations

from typing import Any

from sluice.core import Envelope
from sluice.runtime import Source, worker
from tests.infra.shop.events import CATALOG


@worker(catalog=CATALOG, source=Source.STREAM, table="carts", batch=True, publishes=True)
def checkouts(records: list[Envelope[Any]]) -> list[str]:
    """Never runs in the infra tests: only its declaration matters."""
    return []


handler = checkouts.handler
