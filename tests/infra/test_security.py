"""Least privilege, no stray wildcards, zero unacknowledged cdk-nag findings, clean cfn-lint."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from infra import nag
from infra.api import gateway_routes
from infra.shared import IDEMPOTENCY_ACTIONS
from sluice.runtime import Source, WorkerSpec
from tests.infra.conftest import REGISTRY, TOPOLOGY, Synth

pytestmark = pytest.mark.infra

LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
CONSUME = {
    "sqs:ReceiveMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
}
SEND = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
WRITE = {
    "dynamodb:BatchWriteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
}
STREAM_READ = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
PUBLISH_KEY = {"kms:Decrypt", "kms:GenerateDataKey*"}

# Where AWS itself requires Resource "*", and why.
WILDCARD_ALLOWED = {
    "dynamodb:ListStreams": "has no resource-level permissions (stream event sources need it)",
}
# In a KMS key policy, Resource "*" means "this key" (AWS requires exactly that form); who
# may use it is then the question: the account (delegating to IAM) and CloudWatch alarms.
ACCOUNT_ROOT = {
    "AWS": {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"],
        ]
    }
}
CLOUDWATCH_HERE = (
    {"Service": "cloudwatch.amazonaws.com"},
    {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
)


def target(resource: Any) -> str:
    """``{"Fn::GetAtt": [id, attr]}`` -> ``id.attr``; ``{"Ref": id}`` -> ``id``; ``*``."""
    if resource == "*":
        return "*"
    if "Ref" in resource:
        return str(resource["Ref"])
    logical, attribute = resource["Fn::GetAtt"]
    return f"{logical}.{attribute}"


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(synth: Synth, function_name: str) -> set[tuple[str, str]]:
    """Every (action, resource) the function's role is allowed."""
    function = synth.resources("AWS::Lambda::Function")[synth.function_id(function_name)]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    role = synth.raw["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    found: set[tuple[str, str]] = set()
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            for resource in listed(statement["Resource"]):
                if resource == {"Ref": "AWS::NoValue"}:
                    continue
                found |= {(action, target(resource)) for action in listed(statement["Action"])}
    return found


def expected_grants(synth: Synth, spec: WorkerSpec) -> set[tuple[str, str]]:
    """What the declaration says the worker may do, and nothing else."""
    function = f"sluice-{spec.name}"
    logs = synth.logical_id("AWS::Logs::LogGroup", LogGroupName=f"/aws/lambda/{function}")
    table = {
        t: synth.logical_id("AWS::DynamoDB::Table", TableName=n) for t, n in TOPOLOGY.tables.items()
    }
    want = {(a, f"{logs}.Arn") for a in LOGS}
    if spec.source is Source.STREAM:
        failures = synth.queue_id(TOPOLOGY.stream_failure_queue(spec))
        want |= {(a, f"{table[spec.table or '']}.StreamArn") for a in STREAM_READ}
        want |= {("dynamodb:ListStreams", "*")}
        want |= {(a, f"{failures}.Arn") for a in SEND}
    else:
        names = TOPOLOGY.queues(spec)
        want |= {(a, f"{synth.queue_id(names.queue)}.Arn") for a in CONSUME}
        want |= {(a, f"{synth.queue_id(names.dlq)}.Arn") for a in SEND}
    if spec.idempotent:
        want |= {(a, f"{table['idempotency']}.Arn") for a in IDEMPOTENCY_ACTIONS}
    for logical in spec.writes:
        want |= {(a, f"{table[logical]}.Arn") for a in WRITE}
    if spec.publishes:
        want.add(("sns:Publish", synth.logical_id("AWS::SNS::Topic", TopicName=TOPOLOGY.topic)))
        want |= {(a, f"{synth.logical_id('AWS::KMS::Key')}.Arn") for a in PUBLISH_KEY}
    return want


@pytest.mark.parametrize("name", [s.name for s in REGISTRY.specs])
def test_each_worker_role_holds_exactly_what_its_declaration_implies(
    synth: Synth, name: str
) -> None:
    spec = REGISTRY.get(name).spec
    assert grants(synth, f"sluice-{name}") == expected_grants(synth, spec)


def test_the_api_may_only_log_and_read_write_the_orders_table(synth: Synth) -> None:
    orders = synth.logical_id("AWS::DynamoDB::Table", TableName=TOPOLOGY.table("orders"))
    logs = synth.logical_id("AWS::Logs::LogGroup", LogGroupName="/aws/lambda/sluice-api")
    found = grants(synth, "sluice-api")
    assert {r for a, r in found if a.startswith("dynamodb:")} == {f"{orders}.Arn"}
    assert {r for a, r in found if a.startswith("logs:")} == {f"{logs}.Arn"}
    assert {a.split(":")[0] for a, _ in found} == {"dynamodb", "logs"}
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"} <= {a for a, _ in found}


def statements(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    """Every policy statement in the template, with the type of resource holding it."""
    found = []
    documents = {
        "AWS::IAM::Policy": "PolicyDocument",
        "AWS::SQS::QueuePolicy": "PolicyDocument",
        "AWS::SNS::TopicPolicy": "PolicyDocument",
        "AWS::KMS::Key": "KeyPolicy",
    }
    for kind, key in documents.items():
        for resource in synth.resources(kind).values():
            found += [(kind, s) for s in resource["Properties"][key]["Statement"]]
    for role in synth.resources("AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            found += [("AWS::IAM::Role", s) for s in policy["PolicyDocument"]["Statement"]]
    return found


def test_no_statement_grants_resource_star_unless_aws_requires_it(synth: Synth) -> None:
    everything = statements(synth)
    assert len(everything) > 20
    for kind, statement in everything:
        if "*" not in listed(statement.get("Resource", [])) or statement["Effect"] == "Deny":
            continue
        if kind == "AWS::KMS::Key":
            principal = statement["Principal"]
            assert principal == ACCOUNT_ROOT or (
                (principal, statement.get("Condition")) == CLOUDWATCH_HERE
                and set(statement["Action"]) == PUBLISH_KEY
            ), statement
            continue
        actions = set(listed(statement["Action"]))
        assert actions <= set(WILDCARD_ALLOWED), f"{kind}: {statement}"


def test_cdk_nag_leaves_no_unacknowledged_finding(synth: Synth) -> None:
    (report,) = synth.report["pluginReports"]
    assert report["pluginName"] == "AwsSolutions"
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_every_acknowledgment_is_narrow_and_has_its_listed_reason(synth: Synth) -> None:
    (report,) = synth.report["pluginReports"]
    acknowledged = report["suppressedViolations"]
    for item in acknowledged:
        assert item["reason"] == nag.REASONS[item["acknowledgedId"]]
        assert item["acknowledgedAt"] != "Sluice", "no stack-wide acknowledgments"
    counts = Counter(item["acknowledgedId"] for item in acknowledged)
    specs = REGISTRY.specs
    streams = [s for s in specs if s.source is Source.STREAM]
    assert counts == {
        nag.RUNTIME: len(specs) + 1,
        nag.IS_A_DLQ: len(streams) + len(REGISTRY.by_source(Source.SNS_QUEUE)),
        nag.LIST_STREAMS: len(streams),
        nag.KMS_DATA_KEYS: len([s for s in specs if s.publishes]),
        nag.NO_COGNITO: len(gateway_routes()),
        nag.NO_WAF: 1,
        nag.APIGW_LOGS_ROLE: 1,
    }


def test_cfn_lint_finds_nothing_but_w3005(synth: Synth) -> None:
    matches = lint_file(
        synth.outdir / "Sluice.template.json", config=ManualArgs(regions=["eu-west-1"])
    )
    assert [m for m in matches if m.rule.id != "W3005"] == []
