"""Hooks around every record, with no-op defaults: cross-cutting behaviour without forks.

A middleware can veto a record before it runs (raise ``RetryableError`` or
``PermanentError``), or observe it after. Fault injection, extra auditing or rate limits
plug in here, configured per deployment, so production code needs no test-only branches.
Configure with ``SLUICE_MIDDLEWARE="package.module:factory,..."`` (each factory is called
with no arguments) or pass instances to ``Deps(middleware=...)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from sluice.core import Envelope
from sluice.runtime.errors import ConfigurationError

ENV_MIDDLEWARE = "SLUICE_MIDDLEWARE"


class Middleware:
    """Override what you need; every hook defaults to doing nothing."""

    def before_record(self, worker: str, envelope: Envelope[Any]) -> None:
        """Runs after the claim, before the worker function; raising fails the record."""

    def after_record(self, worker: str, envelope: Envelope[Any], error: Exception | None) -> None:
        """Runs after the worker function (``error`` is what it raised, if anything).

        Raising here fails the record even though its function returned.
        """


def load_middleware(spec: str) -> tuple[Middleware, ...]:
    """``"pkg.mod:factory,pkg.other:factory"`` -> instances, or a sentence saying what's wrong."""
    found: list[Middleware] = []
    for path in (p.strip() for p in spec.split(",")):
        if not path:
            continue
        module_name, _, attr = path.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ConfigurationError(
                f"{ENV_MIDDLEWARE}: cannot load {path!r} ({exc}); use 'package.module:factory'"
            ) from None
        made = factory()
        if not isinstance(made, Middleware):
            raise ConfigurationError(f"{ENV_MIDDLEWARE}: {path!r} did not return a Middleware")
        found.append(made)
    return tuple(found)


def run_before(chain: Sequence[Middleware], worker: str, envelope: Envelope[Any]) -> None:
    """Every ``before_record`` in order."""
    for item in chain:
        item.before_record(worker, envelope)


def run_after(
    chain: Sequence[Middleware], worker: str, envelope: Envelope[Any], error: Exception | None
) -> None:
    """Every ``after_record`` in reverse order."""
    for item in reversed(chain):
        item.after_record(worker, envelope, error)
