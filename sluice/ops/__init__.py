"""Operator tools: DLQ inspection and safe replay, stream-failure replay.

The Python API behind ``sluice dlq``; every function takes a ``sluice.target.Target``
(``connect(local=...)``) and raises an ``OpsError`` (a ConfigurationError) before anything
moves when asked for something it cannot do.
"""

from sluice.ops.audit import AuditEntry, AuditLog
from sluice.ops.dlq_replay import replay_dlq
from sluice.ops.errors import (
    DestinationError,
    FilterError,
    OpsError,
    UnknownDlqError,
    UnsupportedError,
)
from sluice.ops.export import export, import_file, purge
from sluice.ops.filters import MessageFilter
from sluice.ops.inspect import list_dlqs, show
from sluice.ops.native import native_move
from sluice.ops.replay import ReplayOptions, ReplayReport, replay
from sluice.ops.streams import replay_stream_failures

__all__ = [
    "AuditEntry",
    "AuditLog",
    "DestinationError",
    "FilterError",
    "MessageFilter",
    "OpsError",
    "ReplayOptions",
    "ReplayReport",
    "UnknownDlqError",
    "UnsupportedError",
    "export",
    "import_file",
    "list_dlqs",
    "native_move",
    "purge",
    "replay",
    "replay_dlq",
    "replay_stream_failures",
    "show",
]
