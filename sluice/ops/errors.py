"""What the operator tools refuse, each with a sentence that says what to do instead.

All of them are ``ConfigurationError``s, so ``sluice`` prints them as ``error: ...`` (exit 2).
Each is raised before anything moves.
"""

from __future__ import annotations

from sluice.runtime.errors import ConfigurationError


class OpsError(ConfigurationError):
    """An operator command cannot run as asked; nothing was moved or deleted."""


class UnknownDlqError(OpsError):
    """The DLQ name is not one the registry declares."""


class DestinationError(OpsError):
    """``--to`` names something that is neither a queue nor a topic."""


class FilterError(OpsError):
    """A filter is malformed: bad JMESPath, bad time, bad rate."""


class UnsupportedError(OpsError):
    """The request is valid but this target or queue kind cannot do it."""
