"""The orders API's operations: each route by the name a direct caller uses.

The one list: the routes (``producers.api.routes``), the app declaration (``app.py``) and
the producers' client (``producers.client``) all read it. It imports nothing heavy, so a
producer that only calls the API does not load the API's event handler.
"""

from __future__ import annotations

from sluice.rpc import Operation, Operations

PLACE_ORDER = Operation("place_order", "POST", "/orders")
GET_ORDER = Operation("get_order", "GET", "/orders/<order_id>")
CANCEL_ORDER = Operation("cancel_order", "POST", "/orders/<order_id>/cancel")
OPERATIONS = Operations((PLACE_ORDER, GET_ORDER, CANCEL_ORDER))
