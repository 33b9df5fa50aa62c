"""The errors a worker raises say what happens to its record."""

from __future__ import annotations

import pytest

from sluice.runtime import ConfigurationError, PermanentError
from sluice.runtime.context import Settings


def test_a_permanent_error_without_a_reason_is_a_permanent_error_reading_as_its_detail() -> None:
    error = PermanentError("customer is blocked")
    assert (error.reason, error.detail, str(error)) == (
        "permanent_error",
        "customer is blocked",
        "customer is blocked",
    )


def test_publishing_without_the_topic_variable_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match=r"^SLUICE_EVENTS_TOPIC_ARN is not set"):
        Settings.from_env({}).topic()
