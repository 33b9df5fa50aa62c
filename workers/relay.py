"""relay: the orders table's stream becomes events on the bus.

An INSERT is an ``order.placed``; a MODIFY that sets the status to CANCELLED is an
``order.cancelled``; every other change is ignored. The framework's stream relay does the
rest (deterministic ids, contract check, batched publish, partial failures).
"""

from __future__ import annotations

from typing import Any

from events import CATALOG, ORDER_CANCELLED, ORDER_PLACED
from producers.orders import CANCELLED, cancelled_data, placed_data
from sluice.runtime import StreamChange
from sluice.runtime.relay import stream_relay


def order_event(change: StreamChange) -> tuple[str, dict[str, Any]] | None:
    """The event a change to an order becomes, or None."""
    new, old = change.new_image or {}, change.old_image or {}
    if change.event_name == "INSERT" and new:
        return ORDER_PLACED, placed_data(new)
    if change.event_name == "MODIFY" and new.get("status") == CANCELLED != old.get("status"):
        return ORDER_CANCELLED, cancelled_data(new)
    return None


relay = stream_relay(
    catalog=CATALOG,
    table="orders",
    to_event=order_event,
    source="sluice.relay",
    description="Publishes order.placed / order.cancelled for each change to the orders table.",
)
handler = relay.handler
