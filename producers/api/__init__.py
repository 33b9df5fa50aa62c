"""The storage-first orders API. ``producers.api.handler`` is the Lambda entry point.

It writes to the ``orders`` table and nothing else: the table's stream and the relay
worker turn each write into events.
"""

from producers.api.app import OrdersApi
from producers.api.problems import ApiProblem
from producers.api.storage import OrdersStore

api = OrdersApi()
handler = api.handler

__all__ = ["ApiProblem", "OrdersApi", "OrdersStore", "api", "handler"]
