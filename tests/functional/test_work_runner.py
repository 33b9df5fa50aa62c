"""``sluice work``'s runner in-process on moto: what it owes the ECS agent over a long job."""

from __future__ import annotations

import os

from sluice.container.protection import ScaleInProtection
from sluice.container.runner import RunContext, Runner
from tests.conftest import Pipeline
from tests.functional.test_claims import _now_ms, _store

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


def test_the_heartbeat_renews_only_leases_still_held_and_under_the_cap(
    pipeline: Pipeline,
) -> None:
    # GIVEN three batches in flight: one whose lease is still its own, one whose lease a copy
    # took over, and one whose messages the heartbeat let go at the cap
    wired = pipeline.registry.get("inventory").use(pipeline.deps("inventory"))
    runner = Runner(
        wired, pipeline.clients.sqs, pipeline.url(QUEUE), region=os.environ["AWS_DEFAULT_REGION"]
    )
    store = _store(pipeline)
    soon = _now_ms() + 1_000
    contexts = []
    for name, handle in (("held", "h1"), ("taken", "h2"), ("capped", "h3")):
        store.claim(f"inventory#{name}", "me", soon)
        context = RunContext(runner, [handle])
        context.sluice_claims[f"inventory#{name}"] = "me"
        contexts.append(context)
        runner._running.add(context)
    _item_owner(pipeline, "inventory#taken", "copy")  # a copy took it over
    runner.heartbeat.track(["h1", "h2"])
    # WHEN the heartbeat renews
    runner._renew_leases()
    # THEN the held lease runs a visibility timeout more, the taken one is dropped and
    # counted, and the capped one is left to lapse with its messages
    assert _expiry(pipeline, "inventory#held") >= _now_ms() + (runner.visibility_s - 2) * 1000
    assert runner.leases_lost == 1
    assert contexts[1].sluice_claims == {}
    assert _expiry(pipeline, "inventory#capped") == soon
    assert contexts[0].sluice_claims == {"inventory#held": "me"}


def _item_owner(pipeline: Pipeline, key: str, owner: str) -> None:
    pipeline.clients.dynamodb.update_item(
        TableName=pipeline.topology.table("idempotency"),
        Key={"id": {"S": key}},
        UpdateExpression="SET #o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": owner}},
    )


def _expiry(pipeline: Pipeline, key: str) -> int:
    item = pipeline.clients.dynamodb.get_item(
        TableName=pipeline.topology.table("idempotency"), Key={"id": {"S": key}}
    )["Item"]
    return int(item["in_progress_expiry"]["N"])
