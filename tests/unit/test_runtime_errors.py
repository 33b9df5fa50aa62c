"""The errors a worker raises say what happens to its record."""

from __future__ import annotations

from sluice.runtime import PermanentError


def test_a_permanent_error_without_a_reason_is_a_permanent_error_reading_as_its_detail() -> None:
    error = PermanentError("customer is blocked")
    assert (error.reason, error.detail, str(error)) == (
        "permanent_error",
        "customer is blocked",
        "customer is blocked",
    )
