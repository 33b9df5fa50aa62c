"""What the template must hold for a declaration: each role's exact grants, nag, lint.

Shared by the reference app's infra tests and the small app's, so both are held to the
same expectations.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from cfnlint.api import ManualArgs, lint_file

from sluice.app import IDEMPOTENCY_TABLE
from sluice.app import Api as ApiDeclaration
from sluice.cdk import nag
from sluice.cdk.api import gateway_routes
from sluice.cdk.shared import IDEMPOTENCY_ACTIONS, WRITE_ACTIONS
from sluice.runtime import Runtime, Source, WorkerSpec
from tests.infra.conftest import Synth

LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
CONSUME = {
    "sqs:ReceiveMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
}
SEND = {"sqs:SendMessage", "sqs:GetQueueUrl"}
WRITE = set(WRITE_ACTIONS)
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
STREAM_READ = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
PUBLISH_KEY = {"kms:Decrypt", "kms:GenerateDataKey*"}

FAILURE_OBJECTS = re.compile(r"<\w+\.Arn>/\*")
# Where AWS itself requires Resource "*", and why.
WILDCARD_ALLOWED = {
    "dynamodb:ListStreams": "has no resource-level permissions (stream event sources need it)",
    "xray:PutTraceSegments": "has no resource-level permissions (active tracing)",
    "xray:PutTelemetryRecords": "has no resource-level permissions (active tracing)",
    "ecr:GetAuthorizationToken": "has no resource-level permissions (a task pulling its image)",
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
    """``{"Fn::GetAtt": [id, attr]}`` -> ``id.attr``; ``{"Ref": id}`` -> ``id``; ``*``.

    An ARN joined with a suffix (``bucket.Arn`` + ``/*``) reads ``id.Arn/*``.
    """
    if resource == "*":
        return "*"
    if "Fn::Join" in resource:
        return "".join(target(p) if isinstance(p, dict) else p for p in resource["Fn::Join"][1])
    if "Ref" in resource:
        return str(resource["Ref"])
    logical, attribute = resource["Fn::GetAtt"]
    return f"{logical}.{attribute}"


def listed(value: Any) -> list[Any]:
    """A policy field as a list (a single action or resource may stand alone)."""
    return value if isinstance(value, list) else [value]


def grants(synth: Synth, function_name: str) -> set[tuple[str, str]]:
    """Every (action, resource) the function's role is allowed."""
    function = synth.functions()[synth.function_id(function_name)]
    return role_grants(synth, function["Properties"]["Role"]["Fn::GetAtt"][0])


def role_grants(synth: Synth, role_id: str) -> set[tuple[str, str]]:
    """Every (action, resource) a role is allowed."""
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
    """What the declaration says the worker may do, and nothing else.

    A container task's role writes no logs (the execution role's log driver does) and
    traces nothing; a function's role does both."""
    topology = synth.topology
    function = synth.function_name(spec.name)
    table = {
        t: synth.logical_id("AWS::DynamoDB::Table", TableName=n) for t, n in topology.tables.items()
    }
    want: set[tuple[str, str]] = set()
    if spec.runtime is Runtime.LAMBDA:
        logs = synth.logical_id("AWS::Logs::LogGroup", LogGroupName=f"/aws/lambda/{function}")
        want |= {(a, f"{logs}.Arn") for a in LOGS} | {(a, "*") for a in XRAY}
    if spec.source is Source.STREAM:
        bucket = failure_bucket_id(synth, spec)
        want |= {(a, f"{table[spec.table or '']}.StreamArn") for a in STREAM_READ}
        want |= {("dynamodb:ListStreams", "*")}
        want |= {("s3:ListBucket", f"{bucket}.Arn"), ("s3:PutObject", f"{bucket}.Arn/*")}
    else:
        names = topology.queues(spec)
        want |= {(a, f"{synth.queue_id(names.queue)}.Arn") for a in CONSUME}
        want |= {(a, f"{synth.queue_id(names.dlq)}.Arn") for a in SEND}
    if spec.idempotent:
        want |= {(a, f"{table[IDEMPOTENCY_TABLE]}.Arn") for a in IDEMPOTENCY_ACTIONS}
    for logical in spec.writes:
        want |= {(a, f"{table[logical]}.Arn") for a in WRITE}
    if spec.publishes:
        want.add(("sns:Publish", synth.logical_id("AWS::SNS::Topic", TopicName=topology.topic)))
        want |= {(a, f"{synth.logical_id('AWS::KMS::Key')}.Arn") for a in PUBLISH_KEY}
    return want


def failure_bucket_id(synth: Synth, spec: WorkerSpec) -> str:
    """The logical id of a stream worker's on-failure bucket."""
    function = synth.function_id(synth.function_name(spec.name))
    for mapping in synth.resources("AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        if props["FunctionName"] == {"Ref": function}:
            return str(props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0])
    raise LookupError(spec.name)


def statements(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    """Every policy statement in the template, with the type of resource holding it."""
    found = []
    documents = {
        "AWS::IAM::Policy": "PolicyDocument",
        "AWS::SQS::QueuePolicy": "PolicyDocument",
        "AWS::SNS::TopicPolicy": "PolicyDocument",
        "AWS::KMS::Key": "KeyPolicy",
        "AWS::S3::BucketPolicy": "PolicyDocument",
    }
    for kind, key in documents.items():
        for resource in synth.resources(kind).values():
            found += [(kind, s) for s in resource["Properties"][key]["Statement"]]
    for role in synth.resources("AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            found += [("AWS::IAM::Role", s) for s in policy["PolicyDocument"]["Statement"]]
    return found


def assert_no_stray_wildcards(synth: Synth) -> None:
    """No statement allows Resource "*" unless AWS requires it (or it is a key policy's)."""
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


def assert_nag_clean(synth: Synth) -> None:
    """cdk-nag AwsSolutions ran and left no unacknowledged finding."""
    (report,) = synth.report["pluginReports"]
    assert report["pluginName"] == "AwsSolutions"
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def assert_acknowledgments_narrow(synth: Synth, api: ApiDeclaration | None) -> None:
    """Each acknowledgment has its listed reason, sits on a resource, and is expected.

    The count of each rule follows from the declaration alone: one runtime pin per
    function, one DLQ-is-a-DLQ per subscription, stream failure queue or schedule, and so on.
    """
    (report,) = synth.report["pluginReports"]
    acknowledged = report["suppressedViolations"]
    for item in acknowledged:
        item["acknowledgedId"] = FAILURE_OBJECTS.sub("<{bucket}.Arn>/*", item["acknowledgedId"])
        assert item["reason"] == nag.REASONS[item["acknowledgedId"]]
        assert item["acknowledgedAt"] != synth.stack_id, "no stack-wide acknowledgments"
    specs = synth.registry.specs
    functions = [s for s in specs if s.runtime is Runtime.LAMBDA]
    containers = len(specs) - len(functions)
    streams = [s for s in specs if s.source is Source.STREAM]
    schedules = synth.topology.app.schedules
    expected = {
        nag.RUNTIME: len(functions) + (api is not None),
        nag.IS_A_DLQ: len(streams)
        + len(synth.registry.by_source(Source.SNS_QUEUE))
        + len(schedules),  # a schedule's DLQ
        # X-Ray for each function; the image pull for each container's execution role
        nag.WILDCARD_REQUIRED: len(specs) + (api is not None),
        nag.PLAIN_ENVIRONMENT: containers,
        nag.KMS_DATA_KEYS: len([s for s in specs if s.publishes])
        + len([s for s in schedules if s.target is None]),  # a schedule publishing
        nag.NO_ACCESS_LOGS: len(streams),
        nag.FAILURE_OBJECTS: len(streams),
        nag.NOTIFICATIONS_HANDLER: 1 if streams else 0,
    }
    if api is not None:
        expected[nag.NO_COGNITO] = len(gateway_routes(api))
        expected |= {nag.NO_WAF: 1, nag.APIGW_LOGS_ROLE: 1}  # the role: in SluiceAccount
    assert Counter(item["acknowledgedId"] for item in acknowledged) == {
        rule: count for rule, count in expected.items() if count
    }


def lint_findings(synth: Synth) -> list[str]:
    """cfn-lint's findings on the template, but W3005 (a redundant DependsOn CDK writes)."""
    matches = lint_file(synth.template_path, config=ManualArgs(regions=["eu-west-1"]))
    return [str(m) for m in matches if m.rule.id != "W3005"]
