"""The worker runtime: registration, the batch engine, idempotency, errors, telemetry.

This is what ships inside every Lambda. It imports ``events`` and nothing above it.
"""

from sluice.runtime import engine as _engine  # noqa: F401  (loaded at init, not first call)
from sluice.runtime.context import Clients, Deps, Settings
from sluice.runtime.errors import (
    BatchFailedError,
    ConfigurationError,
    InProgressError,
    InvalidEventError,
    PermanentError,
    RetryableError,
    SluiceError,
)
from sluice.runtime.middleware import Middleware
from sluice.runtime.records import StreamChange, stream_event_id
from sluice.runtime.registry import Registry, Source, Worker, WorkerSpec, discover, worker
from sluice.runtime.telemetry import Telemetry
from sluice.runtime.types import PartialBatchResponse

__all__ = [
    "BatchFailedError",
    "Clients",
    "ConfigurationError",
    "Deps",
    "InProgressError",
    "InvalidEventError",
    "Middleware",
    "PartialBatchResponse",
    "PermanentError",
    "Registry",
    "RetryableError",
    "Settings",
    "SluiceError",
    "Source",
    "StreamChange",
    "Telemetry",
    "Worker",
    "WorkerSpec",
    "discover",
    "stream_event_id",
    "worker",
]
