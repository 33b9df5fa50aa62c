"""notify: an SNS-fed worker that records each checked-out cart."""

from __future__ import annotations

from typing import Any

from sluice.core import Envelope
from sluice.runtime import worker
from tests.infra.shop.events import CART_CHECKED_OUT, CATALOG


@worker(catalog=CATALOG, subscribes=[CART_CHECKED_OUT], writes=("carts",))
def notify(event: Envelope[Any]) -> None:
    """Never runs in the infra tests: only its declaration matters."""


handler = notify.handler
