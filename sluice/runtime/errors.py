"""One error hierarchy. Only the worker boundary decides what each one means."""

from __future__ import annotations


class SluiceError(Exception):
    """Base of every error Sluice raises on purpose."""


class RetryableError(SluiceError):
    """The record may succeed later: leave it to the queue's retries (with backoff)."""


class PermanentError(SluiceError):
    """Retrying cannot help: send the record to its DLQ with ``reason`` attached."""

    def __init__(self, detail: str, *, reason: str = "permanent_error") -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason


class ConfigurationError(SluiceError):
    """A worker or its environment is set up wrong; the message says how to fix it."""


class InvalidEventError(SluiceError):
    """The invocation event is not a batch this worker can consume; nothing was processed."""


class BatchFailedError(SluiceError):
    """Every record in the batch failed, so the whole invocation fails (Lambda retries it)."""


class InProgressError(RetryableError):
    """Another invocation is processing the same event right now."""
