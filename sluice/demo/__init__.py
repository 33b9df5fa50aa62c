"""``sluice demo``'s harness: an app says what to send and check; this runs and reports it.

An app's demo subclasses ``Demo`` (see ``sluice.demo.base``) and is named once in the
app's declaration, ``App(demo="module:ClassName")``. The generic parts live here: the
live table, timed steps, the wait until drained, the per-worker, dead-letter, latency
and consistency tables, and helpers to pace traffic and speak JSON over HTTP.
"""

from sluice.demo.base import Check, Demo, Step, Timed, fan_out
from sluice.demo.http import JsonClient
from sluice.demo.pacing import paced, wait_until
from sluice.demo.report import table_items
from sluice.demo.runner import load_demo, run
from sluice.local.sandbox import Sandbox

__all__ = [
    "Check",
    "Demo",
    "JsonClient",
    "Sandbox",
    "Step",
    "Timed",
    "fan_out",
    "load_demo",
    "paced",
    "run",
    "table_items",
    "wait_until",
]
