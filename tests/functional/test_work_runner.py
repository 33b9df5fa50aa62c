"""``sluice work``'s runner in-process on moto: what it owes the ECS agent over a long job."""

from __future__ import annotations

import os

from sluice.container.protection import ScaleInProtection
from sluice.container.runner import Runner
from tests.conftest import Pipeline

QUEUE = "sluice-inventory"


def test_scale_in_protection_is_renewed_while_a_record_stays_in_flight(
    pipeline: Pipeline,
) -> None:
    # finding 5: protection was set on the idle->busy edge only, so a record running past
    # its expiry (60 min) could be scaled in mid-job
    wired = pipeline.registry.get("inventory").use(pipeline.deps("inventory"))
    protection = ScaleInProtection("http://127.0.0.1:9/v3/task", expires_min=60)
    calls: list[bool] = []
    protection._put = lambda enabled: calls.append(enabled) or True  # type: ignore[method-assign]
    runner = Runner(
        wired,
        pipeline.clients.sqs,
        pipeline.url(QUEUE),
        region=os.environ["AWS_DEFAULT_REGION"],
        protection=protection,
    )
    # GIVEN one record in flight, protected as it started
    runner._busy(1)
    assert calls == [True]
    runner.tick()
    assert calls == [True], "a fresh protection is not renewed"
    # WHEN more than half its expiry has passed with the record still running
    protection._since -= 31 * 60
    runner.tick()
    # THEN the next round renews it; once idle, it is released
    assert calls == [True, True]
    runner._busy(-1)
    assert calls == [True, True, False]
    runner.tick()
    assert calls == [True, True, False]
