"""A second sandbox in one process gives its workers' log lines back when it stops."""

from __future__ import annotations

import io

from sluice.local.logs import worker_streams
from sluice.runtime import Telemetry


def test_a_worker_logs_to_the_first_sink_again_once_the_second_is_done() -> None:
    first, second = io.StringIO(), io.StringIO()
    Telemetry.for_worker("streams-test", stream=first)
    saved = worker_streams(["streams-test"])
    later = Telemetry.for_worker("streams-test", stream=second)  # the second sandbox's wiring
    later.logger.info("to the second")
    saved.restore()
    later.logger.info("to the first")
    assert "to the second" in second.getvalue() and "to the first" not in second.getvalue()
    assert "to the first" in first.getvalue()
