"""Several Lambda execution environments in one process, each with its own request.

On Lambda an execution environment is a process that serves one request at a time, so
Powertools' event handler keeps the request being resolved in *class* attributes:
``resolve()`` sets ``BaseRouter.current_event`` and ``BaseRouter.lambda_context``, and route
matching and ``app.current_event`` read them back. The sandbox runs an API's environments as
threads of one process; two requests resolved at once then read each other's event (a
route sees another request's body and headers: an order placed with another's
Idempotency-Key comes back as that order's replay).

``isolate_powertools_routers()`` makes those two attributes per thread, which is what one
process per environment gives on Lambda. Assigning a class attribute goes through the
metaclass, so ``BaseRouter`` gets a metaclass (a subclass of its own) whose data
descriptors keep the values per thread; instance reads find the same descriptors in
``BaseRouter``'s own namespace. ``tests/unit/test_isolation.py`` fails if Powertools stops
keeping the request there.
"""

from __future__ import annotations

import threading
from typing import Any

_REQUEST_ATTRIBUTES = ("current_event", "lambda_context")
_state = threading.local()


class _PerThread:
    """A data descriptor whose value is this thread's own."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        try:
            return getattr(_state, self.name)
        except AttributeError:
            raise AttributeError(self.name) from None

    def __set__(self, instance: object, value: Any) -> None:
        setattr(_state, self.name, value)


def isolate_powertools_routers() -> bool:
    """Make Powertools' current request per thread; False if its event handler is absent.

    Idempotent; the process keeps the change (one thread per environment is still exactly
    what Lambda's one process per environment gives).
    """
    try:
        from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
    except ImportError:  # the app does not use Powertools' event handler
        return False
    meta = type(BaseRouter)
    if getattr(meta, "_sluice_per_thread", False):
        return True
    for name in _REQUEST_ATTRIBUTES:
        type.__setattr__(BaseRouter, name, _PerThread(name))  # instance reads
    per_thread = type(
        f"PerThread{meta.__name__}",
        (meta,),
        {"_sluice_per_thread": True, **{n: _PerThread(n) for n in _REQUEST_ATTRIBUTES}},
    )
    BaseRouter.__class__ = per_thread  # type: ignore[method-assign]  # class reads and writes
    return True
