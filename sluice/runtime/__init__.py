"""The worker runtime: registration, the batch engine, idempotency, errors, telemetry.

This is what ships inside every Lambda. It imports ``sluice.core`` (and, for the relay,
``sluice.publisher``) and nothing above it. Inside, each module imports only the ones
below it: ``spec`` at the bottom, then records, the ports and ``context``, the ``engine``,
the Lambda entry (``worker``), and ``registry`` and ``relay`` on top; the layers contracts
in pyproject.toml hold it so.
"""

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
from sluice.runtime.registry import Registry, discover
from sluice.runtime.spec import Runtime, Source, WorkerSpec
from sluice.runtime.telemetry import Telemetry
from sluice.runtime.types import PartialBatchResponse
from sluice.runtime.worker import Worker, worker

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
    "Runtime",
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
