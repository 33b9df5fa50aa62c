"""Schedule declarations: clear errors up front, one deterministic envelope per slot, and
the same request for EventBridge Scheduler and the sandbox."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import pytest

from app import APP
from events import CATALOG, ORDER_PLACED, STOCK_AUDIT_REQUESTED
from sluice.app import App, Schedule
from sluice.core import Catalog, Contract, Envelope, Model, rules
from sluice.ops import scheduled
from sluice.runtime import ConfigurationError, Registry, Source, worker
from sluice.schedule import SCHEDULED_TIME, Action, check_schedules, slot_text
from sluice.topology import DlqKind, Topology

NIGHTLY = APP.schedule("nightly-stocktake")
PARIS = ZoneInfo("Europe/Paris")


def declare(**changes: Any) -> Schedule:
    fields: dict[str, Any] = {
        "name": "nightly",
        "expression": "cron(0 2 * * ? *)",
        "event_type": STOCK_AUDIT_REQUESTED,
        "payload": {"scope": "all"},
    }
    return Schedule(**(fields | changes))


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"name": "Nightly Run"}, "schedule name 'Nightly Run': use 1-40 lowercase"),
        ({"expression": "cron(0 2 * * * *)"}, "schedule 'nightly': 'cron(0 2 * * * *)': exactly"),
        ({"expression": "cron(0 25 * * ? *)"}, "hours field '25': 25 is out of range 0-23"),
        ({"expression": "rate(1 hours)"}, "write rate(1 hour)"),
        ({"timezone": "Europe/Lutetia"}, "'Europe/Lutetia' is not an IANA time zone"),
        ({"expression": "cron(0 2 1 1 ? 2020)"}, "never fires again"),
        ({"payload": {"when": datetime.now(UTC)}}, "the payload must be JSON"),
    ],
)
def test_a_bad_declaration_says_what_is_wrong(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        declare(**changes)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("schedules", "says"),
    [
        ((declare(event_type="stock.counted"),), "fires 'stock.counted', which the catalog"),
        ((declare(payload={"scope": ""}),), "is not a valid stock.audit_requested v1: "),
        ((declare(version=2),), "is not a valid stock.audit_requested v2"),
        ((declare(), declare()), "schedule 'nightly' is declared twice"),
    ],
)
def test_the_app_checks_schedules_against_its_catalog(
    schedules: tuple[Schedule, ...], says: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        replace(APP, schedules=schedules)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        (declare(target="stocktaker"), "targets worker 'stocktaker', which does not exist"),
        (declare(target="relay"), "targets 'relay', which reads a stream"),
        (declare(target="inventory"), "which does not subscribe to it"),
        (declare(name="stocktake"), "schedule 'stocktake' has a worker's name"),
    ],
)
def test_the_app_checks_targets_against_its_workers(schedule: Schedule, says: str) -> None:
    app = replace(APP, schedules=(schedule,))
    with pytest.raises(ConfigurationError) as caught:
        _ = app.registry
    assert says in str(caught.value)


def test_an_event_nobody_subscribes_to_is_refused_on_the_topic() -> None:
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="only_orders")
    def only_orders(event: Envelope[Any]) -> None: ...

    app = App(name="t", catalog=CATALOG, schedules=(declare(),)).with_registry(
        Registry([only_orders])
    )
    with pytest.raises(ConfigurationError, match="no worker subscribes to it"):
        _ = app.registry


def test_a_fifo_target_needs_its_group_field_in_the_payload() -> None:
    @worker(
        catalog=CATALOG,
        source=Source.FIFO_QUEUE,
        group_by="scope",
        name="fifo_audits",
    )
    def fifo_audits(event: Envelope[Any]) -> None: ...

    bare = declare(target="fifo_audits", payload={"requested_by": "x"})
    app = App(name="t", catalog=CATALOG, schedules=(bare,)).with_registry(Registry([fifo_audits]))
    with pytest.raises(ConfigurationError, match="groups by 'scope': the payload needs"):
        _ = app.registry
    good = App(name="t", catalog=CATALOG, schedules=(declare(target="fifo_audits"),))
    topology = Topology(good.with_registry(Registry([fifo_audits])))
    action, queue, group = topology.schedule_route(declare(target="fifo_audits"))
    assert (action, queue, group) == (Action.SEND_MESSAGE, "sluice-fifo_audits.fifo", "all")
    request = declare(target="fifo_audits").request(action, "url", "2026-12-01T01:00:00Z", group)
    # SQS drops a second fire of the same slot itself: the dedup id is the envelope id
    assert request["MessageDeduplicationId"] == "schedule:nightly:2026-12-01T01:00:00Z"
    assert request["MessageGroupId"] == "all"


def test_one_slot_is_one_envelope_id_and_the_envelope_decodes() -> None:
    slot = slot_text(datetime(2026, 12, 1, 2, 0, tzinfo=PARIS))
    assert slot == "2026-12-01T01:00:00Z"  # the Scheduler's format: UTC, seconds, Z
    request = NIGHTLY.request(Action.PUBLISH, "arn:topic", slot)
    envelope = CATALOG.decode(request["Message"])
    assert envelope.id == envelope.correlation_id == "schedule:nightly-stocktake:" + slot
    assert envelope.time == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert envelope.data.scope == "all"
    assert NIGHTLY.request(Action.PUBLISH, "arn:topic", slot) == request
    assert request["MessageAttributes"]["event_type"]["StringValue"] == STOCK_AUDIT_REQUESTED


def test_the_scheduler_template_becomes_the_sandbox_request_once_substituted() -> None:
    # GIVEN the Input the CDK gives EventBridge Scheduler, as text
    template = json.dumps(NIGHTLY.request(Action.PUBLISH, "arn:topic", SCHEDULED_TIME))
    # WHEN the Scheduler substitutes the context attribute (a plain text replacement)
    fired = template.replace(SCHEDULED_TIME, "2026-12-01T01:00:00Z")
    # THEN it is exactly what the sandbox sends for that slot
    assert json.loads(fired) == NIGHTLY.request(Action.PUBLISH, "arn:topic", "2026-12-01T01:00:00Z")


def test_the_sample_is_what_the_schedule_fires() -> None:
    sample = json.loads(
        resources.files("events").joinpath("samples/sqs_scheduled.json").read_text()
    )
    (record,) = sample["Records"]
    request = NIGHTLY.request(Action.PUBLISH, "arn:topic", "2026-12-01T01:00:00Z")
    assert record["body"] == request["Message"]


def test_a_schedule_dlq_is_listed_and_replays_to_the_schedule_target() -> None:
    topology = Topology(APP)
    dlq = topology.dlq("sluice-nightly-stocktake-schedule-dlq")
    assert (dlq.kind, dlq.worker, dlq.source) == (
        DlqKind.SCHEDULE,
        "nightly-stocktake",
        "sluice-events",
    )
    # a worker's name still finds the worker's own DLQ
    assert topology.dlq("stocktake").kind is DlqKind.QUEUE


def test_a_dead_letter_event_unwraps_to_its_envelope_and_error() -> None:
    request = NIGHTLY.request(Action.PUBLISH, "arn:topic", "2026-12-01T01:00:00Z")
    errors = {
        "ERROR_CODE": {"DataType": "String", "StringValue": "AWS.SNS.NotFound"},
        "ERROR_MESSAGE": {"DataType": "String", "StringValue": "Topic does not exist"},
    }
    carried = scheduled.unwrap(json.dumps(request), errors)
    assert carried == scheduled.Carried(request["Message"], request["MessageAttributes"], errors)
    assert scheduled.failure(carried.scheduler) == {
        "reason": "AWS.SNS.NotFound",
        "detail": "Topic does not exist",
    }
    # anything else passes through untouched
    assert scheduled.unwrap("not json", errors) == scheduled.Carried("not json", errors)
    assert scheduled.unwrap('{"a": 1}', {}) == scheduled.Carried('{"a": 1}', {})


def test_a_dead_letter_event_to_a_fifo_queue_carries_its_group() -> None:
    request = NIGHTLY.request(Action.SEND_MESSAGE, "https://q.fifo", "2026-12-01T01:00:00Z", "g-1")

    carried = scheduled.unwrap(json.dumps(request), {})

    assert (carried.body, carried.group_id) == (request["MessageBody"], "g-1")


SLOTTED = declare(
    payload={"scope": SCHEDULED_TIME, "requested_by": f"nightly run of {SCHEDULED_TIME}"}
)


def test_the_slot_in_a_payload_is_filled_alike_by_the_scheduler_and_the_sandbox() -> None:
    slot = "2026-12-01T01:00:00Z"
    # GIVEN the Input the CDK gives EventBridge Scheduler: the placeholder left in the data
    template = json.dumps(SLOTTED.request(Action.PUBLISH, "arn:topic", SCHEDULED_TIME))
    assert json.loads(json.loads(template)["Message"])["data"]["scope"] == SCHEDULED_TIME
    # WHEN the Scheduler substitutes it (a plain text replacement)
    fired = json.loads(template.replace(SCHEDULED_TIME, slot))
    # THEN it is what the sandbox sends for that slot, the slot in the data, whole or within
    assert fired == SLOTTED.request(Action.PUBLISH, "arn:topic", slot)
    data = CATALOG.decode(fired["Message"]).data
    assert (data.scope, data.requested_by) == (slot, f"nightly run of {slot}")


def test_a_payload_with_the_placeholder_is_checked_with_a_slot_in_its_place() -> None:
    # GIVEN a contract whose field must look like a slot
    class Slotted(Model):
        day: Annotated[str, rules(pattern=r"[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z")]

    catalog = Catalog([Contract("digest.requested", 1, Slotted)])
    good = Schedule("digest", "cron(0 6 * * ? *)", "digest.requested", {"day": SCHEDULED_TIME})
    # THEN the placeholder passes the check (a slot stands in for it) and bad data does not
    check_schedules((good,), catalog)
    bad = replace(good, payload={"day": "yesterday"})
    with pytest.raises(ConfigurationError, match=r"data\.day: must match"):
        check_schedules((bad,), catalog)
