"""Every service path of a stack, evaluated the way AWS would: allowed, and nothing beyond.

For the reference app (with the test workers), the small shop app, and a project made by
``sluice new``: CloudWatch -> alarms topic and key, SNS -> each queue and subscription DLQ,
each function -> what its code and event source call, stream mapping -> failure bucket,
S3 -> failure queue, producer accounts -> events topic.
"""

from __future__ import annotations

import ast
import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from botocore import xform_name
from botocore.session import Session

from sluice.cdk.paths import RUNTIME_CALLS, Paths
from sluice.cdk.policy import Template
from tests.infra import path_check
from tests.infra.conftest import ROOT, TEST_APP, Synth, synthesize
from tests.infra.shop.app import SHOP

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A project made by ``sluice new``, synthesized and checked in its own process."""
    project = path_check.new_project(tmp_path_factory.mktemp("new"))
    return path_check.check_elsewhere(project, tmp_path_factory.mktemp("new.out"))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(
        replace(SHOP, producer_accounts=("210987654321",)), tmp_path_factory.mktemp("shop.out")
    )


def check(synth: Synth, template: dict[str, Any] | None = None) -> list[str]:
    """What the path check finds on the stack (or on a changed copy of its template)."""
    return path_check.check(template or synth.raw, synth.topology)


KINDS = ["alarm", "failure notice", "function", "subscription"]


def test_the_reference_app_allows_every_path_and_nothing_beyond(synth: Synth) -> None:
    assert path_check.kinds_of_paths(synth.raw, synth.topology) == sorted(
        [*KINDS, "direct caller", "schedule"]
    )
    assert check(synth) == []


def test_each_schedule_role_sends_exactly_its_event_and_dead_letters(synth: Synth) -> None:
    paths = Paths(Template(synth.raw), synth.topology)
    (role,) = paths.schedule_roles()
    assert role.function == "schedule sluice-nightly-stocktake"
    assert sorted(r.action for r in role.calls) == [
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "sns:Publish",
        "sqs:SendMessage",
    ]
    (trust,) = paths.schedules()
    assert [r.action for r in trust.allowed] == ["sts:AssumeRole"]
    assert len(trust.denied) == 2  # another schedule, another account


def _schedule_role_statements(raw: dict[str, Any]) -> list[dict[str, Any]]:
    (schedule,) = [r for r in raw["Resources"].values() if r["Type"] == "AWS::Scheduler::Schedule"]
    role = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    return [
        statement
        for r in raw["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_check_catches_a_schedule_that_cannot_reach_its_dlq(synth: Synth) -> None:
    broken = copy.deepcopy(synth.raw)
    for statement in _schedule_role_statements(broken):
        if statement["Action"] == "sqs:SendMessage":
            statement["Action"] = "sqs:GetQueueUrl"
    found = check(synth, broken)
    assert any(
        w.startswith("refused: schedule sluice-nightly-stocktake: sqs:SendMessage") for w in found
    )
    assert any(
        w.startswith("unused: schedule sluice-nightly-stocktake: sqs:GetQueueUrl") for w in found
    )


def test_the_check_catches_a_schedule_role_any_scheduler_may_assume(synth: Synth) -> None:
    broken = copy.deepcopy(synth.raw)
    for resource in broken["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role":
            for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                if statement["Principal"] == {"Service": "scheduler.amazonaws.com"}:
                    statement.pop("Condition")
    found = check(synth, broken)
    assert any(w.startswith("allowed: scheduler sluice-nightly-stocktake") for w in found)


def test_the_shop_app_with_a_producer_account_allows_every_path(shop: Synth) -> None:
    paths = Paths(Template(shop.raw), shop.topology)
    assert len(paths.producers()) == 2
    # its schedule sends straight to a worker's queue: SendMessage there and to its DLQ
    (role,) = paths.schedule_roles()
    assert sorted((r.action, r.resource.rsplit(":", 1)[-1]) for r in role.calls) == [
        ("sqs:SendMessage", "shop-hourly-nudge-schedule-dlq"),
        ("sqs:SendMessage", "shop-notify"),
    ]
    assert check(shop) == []


def test_a_sluice_new_project_allows_every_path_and_nothing_beyond(
    scaffolded: dict[str, Any],
) -> None:
    assert scaffolded["kinds"] == KINDS
    assert scaffolded["wrong"] == []


def without(raw: dict[str, Any], kind: str, sid: str) -> dict[str, Any]:
    """The template with the statement ``sid`` removed from every ``kind`` policy."""
    changed = copy.deepcopy(raw)
    for resource in changed["Resources"].values():
        if resource["Type"] == kind:
            document = resource["Properties"]["PolicyDocument"]
            document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
    return changed


def test_the_check_catches_alarms_that_cannot_publish(synth: Synth) -> None:
    # GIVEN the topic policy as it was before issue 16: the TLS deny alone
    broken = without(synth.raw, "AWS::SNS::TopicPolicy", "AlarmsPublish")
    # THEN every alarm's publish is refused
    refused = [w for w in check(synth, broken) if w.startswith("refused: alarm")]
    assert len(refused) == len(synth.resources("AWS::CloudWatch::Alarm"))


def test_the_check_catches_a_foreign_bucket_notifying_the_failure_queue(synth: Synth) -> None:
    broken = without(synth.raw, "AWS::SQS::QueuePolicy", "OnlyThisAccountsBucket")
    assert any("444455556666" in w for w in check(synth, broken))


def test_the_check_catches_a_grant_the_code_never_uses(synth: Synth) -> None:
    # GIVEN the API's role also allowed Scan, as grant_read_write_data did
    broken = copy.deepcopy(synth.raw)
    api_role = synth.functions()[synth.function_id("sluice-api")]["Properties"]["Role"][
        "Fn::GetAtt"
    ][0]
    for resource in broken["Resources"].values():
        if (
            resource["Type"] == "AWS::IAM::Policy"
            and {"Ref": api_role} in resource["Properties"]["Roles"]
        ):
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if "dynamodb:GetItem" in statement["Action"]:
                    statement["Action"] = [*statement["Action"], "dynamodb:Scan"]
    assert (
        [w for w in check(synth, broken) if "Scan" in w]
        == [w for w in check(synth, broken) if w.startswith("unused: sluice-api: dynamodb:Scan")]
        != []
    )


# -- the runtime's calls, read from its source --------------------------------------------

RUNTIME_MODULES = {
    "queue": ["sluice/runtime/queues.py"],
    "dead_letter": ["sluice/runtime/queues.py"],
    "idempotency": ["sluice/runtime/idempotency.py", "sluice/runtime/effects.py"],
    "publish": ["sluice/runtime/relay.py", "sluice/publisher/publisher.py"],
}
SERVICES = {"dynamodb": "dynamodb", "sqs": "sqs", "sns": "sns"}
# Calls IAM authorizes under another action's name.
AUTHORIZED_AS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sns:PublishBatch": "sns:Publish",
    "dynamodb:TransactWriteItems": "dynamodb:PutItem",  # the completion is a Put item
}


def sdk_calls(files: list[str]) -> set[str]:
    """The IAM actions of every SDK operation the files call (``client.put_item(...)``)."""
    session = Session()
    operations: dict[str, str] = {}
    for prefix, name in SERVICES.items():
        model = session.get_service_model(name)
        for operation in model.operation_names:
            operations[_snake(operation)] = f"{prefix}:{operation}"
    found = set()
    for file in files:
        for node in ast.walk(ast.parse((ROOT / file).read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                action = operations.get(node.func.attr)
                if action is not None:
                    found.add(AUTHORIZED_AS.get(action, action))
    return found


def _snake(name: str) -> str:
    return str(xform_name(name))


@pytest.mark.parametrize("part", sorted(RUNTIME_MODULES))
def test_runtime_calls_are_exactly_what_the_runtime_source_calls(part: str) -> None:
    called = sdk_calls(RUNTIME_MODULES[part])
    if part == "publish":  # the publisher also sends to queues: producers do, not workers
        called = {c for c in called if c.startswith("sns:")}
    assert set(RUNTIME_CALLS[part]) <= called
    if part in ("idempotency", "publish"):
        assert called == set(RUNTIME_CALLS[part])
    else:  # queues.py serves both parts: together they are all it calls
        assert called == set(RUNTIME_CALLS["queue"]) | set(RUNTIME_CALLS["dead_letter"])


def test_the_api_grants_are_exactly_what_its_code_calls() -> None:
    assert TEST_APP.api is not None
    files = [str(p.relative_to(ROOT)) for p in (ROOT / "producers").rglob("*.py")]
    assert sdk_calls(files) == set(TEST_APP.api.table_actions)


def test_worker_writes_are_exactly_what_their_transactions_hold() -> None:
    kinds = set()
    for file in (ROOT / "workers").glob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Dict):
                kinds |= {k.value for k in node.keys if isinstance(k, ast.Constant)} & {
                    "Put",
                    "Update",
                    "Delete",
                    "ConditionCheck",
                }
    assert {f"dynamodb:{k}Item" for k in kinds} == set(RUNTIME_CALLS["writes"])


def api_permissions(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Lambda permissions of the API function, by logical id."""
    return {
        k: v
        for k, v in raw["Resources"].items()
        if v["Type"] == "AWS::Lambda::Permission"
        and "Api" in json.dumps(v["Properties"]["FunctionName"])
    }


def test_each_declared_direct_caller_is_a_checked_path(synth: Synth) -> None:
    paths = Paths(Template(synth.raw), synth.topology).direct_callers()
    assert [p.name.split(" -> ")[0] for p in paths] == [
        "arn:aws:iam::111122223333:role/billing-producer",
        "arn:aws:iam::210987654321:role/batch-import",
        "333344445555",
    ]
    assert all(len(p.allowed) == 2 and len(p.denied) >= 4 for p in paths)


def test_the_check_catches_a_wildcard_invoke_permission(synth: Synth) -> None:
    # GIVEN one of the API's permissions widened to any principal
    broken = copy.deepcopy(synth.raw)
    logical = sorted(api_permissions(broken))[0]
    broken["Resources"][logical]["Properties"]["Principal"] = "*"
    # THEN the look-alikes (the role name in another account, another role) get in
    allowed = [w for w in check(synth, broken) if w.startswith("allowed:")]
    invokes = [w for w in allowed if w.endswith(": lambda:InvokeFunction {}")]
    assert len(invokes) >= 3, allowed


def test_the_check_catches_a_source_account_condition_on_a_direct_caller(synth: Synth) -> None:
    # GIVEN every invoke permission conditioned on SourceAccount (only services carry the key)
    broken = copy.deepcopy(synth.raw)
    for permission in api_permissions(broken).values():
        permission["Properties"]["SourceAccount"] = {"Ref": "AWS::AccountId"}
    # THEN every declared caller is refused
    refused = [w for w in check(synth, broken) if w.startswith("refused:")]
    assert len([w for w in refused if w.endswith(": lambda:InvokeFunction")]) == 3, refused
