"""The IAM evaluator on small hand-written templates: each rule of AWS's evaluation it models."""

from __future__ import annotations

from typing import Any

import pytest

from sluice.cdk.policy import (
    ACCOUNT,
    NotModelledError,
    Principal,
    Request,
    Template,
    decide,
    service,
    unused_grants,
)

QUEUE = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:q"
TOPIC = f"arn:aws:sns:eu-west-1:{ACCOUNT}:t"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/Key"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Role"
ROOT = {
    "Fn::Join": [
        "",
        ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"],
    ]
}
TLS = {"aws:SecureTransport": "true"}
FROM_TOPIC = {"aws:SourceArn": TOPIC, "aws:SourceAccount": ACCOUNT, **TLS}
DENY_HTTP = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "sqs:*",
    "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def template(
    queue_policy: list[dict[str, Any]] | None = None,
    role_policy: list[dict[str, Any]] | None = None,
    key_policy: list[dict[str, Any]] | None = None,
) -> Template:
    """A queue, a topic, a key and a role, with the policies given."""
    resources: dict[str, Any] = {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {"KeyPolicy": {"Statement": key_policy or []}},
        },
    }
    if queue_policy is not None:
        resources["QueuePolicy"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "Queue"}],
                "PolicyDocument": {"Statement": queue_policy},
            },
        }
    if role_policy is not None:
        resources["RolePolicy"] = {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": {"Statement": role_policy},
            },
        }
    return Template({"Resources": resources})


def sns_may_send(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
        "Condition": condition,
    }


SNS = service("sns.amazonaws.com")
ROLE_PRINCIPAL = Principal(role_arn=ROLE)


def test_a_service_is_allowed_only_by_a_resource_policy_naming_it() -> None:
    # GIVEN a queue with no policy, then one allowing SNS from the topic
    bare = template()
    allowed = template([sns_may_send({"ArnEquals": {"aws:SourceArn": {"Ref": "Topic"}}})])
    request = Request(SNS, "sqs:SendMessage", QUEUE, FROM_TOPIC)
    # THEN only the second lets SNS in
    assert not decide(bare, request)
    assert decide(allowed, request)
    # AND not for another action or another principal
    assert not decide(allowed, Request(SNS, "sqs:DeleteMessage", QUEUE, FROM_TOPIC))
    assert not decide(
        allowed, Request(service("s3.amazonaws.com"), "sqs:SendMessage", QUEUE, FROM_TOPIC)
    )


@pytest.mark.parametrize(
    ("operator", "wanted", "source", "allowed"),
    [
        ("ArnEquals", TOPIC, TOPIC, True),
        ("ArnEquals", TOPIC, f"{TOPIC}-other", False),
        ("ArnLike", "arn:aws:sns:*:*:t", TOPIC, True),
        ("ArnLike", "arn:aws:sns:*:*:u*", TOPIC, False),
        ("StringEquals", [f"{TOPIC}-x", TOPIC], TOPIC, True),
        ("StringNotEquals", TOPIC, TOPIC, False),
        ("ArnEqualsIfExists", f"{TOPIC}-other", None, True),
        ("ArnEquals", TOPIC, None, False),
    ],
)
def test_source_arn_conditions(
    operator: str, wanted: Any, source: str | None, allowed: bool
) -> None:
    policy = template([sns_may_send({operator: {"aws:SourceArn": wanted}})])
    context = {**TLS} if source is None else {"aws:SourceArn": source, **TLS}
    assert bool(decide(policy, Request(SNS, "sqs:SendMessage", QUEUE, context))) is allowed


def test_source_account_and_every_condition_must_hold() -> None:
    policy = template(
        [
            sns_may_send(
                {
                    "ArnEquals": {"aws:SourceArn": {"Ref": "Topic"}},
                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                }
            )
        ]
    )
    assert decide(policy, Request(SNS, "sqs:SendMessage", QUEUE, FROM_TOPIC))
    foreign = {**FROM_TOPIC, "aws:SourceAccount": "444455556666"}
    assert not decide(policy, Request(SNS, "sqs:SendMessage", QUEUE, foreign))


def test_an_explicit_deny_wins_over_any_allow() -> None:
    # GIVEN an allow for SNS and the TLS-only deny
    policy = template([sns_may_send({}), DENY_HTTP])
    # THEN plain HTTP is refused, TLS is not, and a missing key does not trigger the deny
    http = {**FROM_TOPIC, "aws:SecureTransport": "false"}
    assert not decide(policy, Request(SNS, "sqs:SendMessage", QUEUE, http))
    assert decide(policy, Request(SNS, "sqs:SendMessage", QUEUE, FROM_TOPIC))
    assert decide(policy, Request(SNS, "sqs:SendMessage", QUEUE, {}))


def test_a_role_of_the_account_is_allowed_by_its_identity_policy() -> None:
    grant = {
        "Effect": "Allow",
        "Action": ["sqs:Send*"],
        "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
    }
    assert decide(
        template([DENY_HTTP], [grant]), Request(ROLE_PRINCIPAL, "sqs:SendMessage", QUEUE, TLS)
    )
    assert not decide(template([DENY_HTTP]), Request(ROLE_PRINCIPAL, "sqs:SendMessage", QUEUE, TLS))
    # a resource policy naming only the account root does not grant by itself
    to_account = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sqs:*", "Resource": "*"}
    assert not decide(
        template([to_account]), Request(ROLE_PRINCIPAL, "sqs:SendMessage", QUEUE, TLS)
    )


def test_a_key_allows_only_through_its_key_policy() -> None:
    use = {
        "Effect": "Allow",
        "Action": "kms:GenerateDataKey*",
        "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
    }
    request = Request(ROLE_PRINCIPAL, "kms:GenerateDataKey", KEY)
    # GIVEN the role's own allow: not enough while the key policy does not delegate to IAM
    assert not decide(template(role_policy=[use]), request)
    # WHEN the key policy delegates to the account (Resource "*" is the key itself)
    root = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}
    assert decide(template(role_policy=[use], key_policy=[root]), request)
    assert not decide(template(key_policy=[root]), request)
    # AND a service is let in only by a key statement naming it, with its conditions
    cloudwatch = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
    }
    cw = service("cloudwatch.amazonaws.com")
    here = {"aws:SourceAccount": ACCOUNT}
    assert decide(template(key_policy=[cloudwatch]), Request(cw, "kms:Decrypt", KEY, here))
    assert not decide(template(key_policy=[root]), Request(cw, "kms:Decrypt", KEY, here))


def test_unused_grants_are_each_action_and_resource_no_call_needs() -> None:
    grant = {
        "Effect": "Allow",
        "Action": ["sqs:SendMessage", "sqs:DeleteMessage"],
        "Resource": [{"Fn::GetAtt": ["Queue", "Arn"]}, "*"],
    }
    needed = [Request(ROLE_PRINCIPAL, "sqs:SendMessage", QUEUE)]
    # (a grant on "*" covers the needed call: stray wildcards are test_security's concern)
    assert unused_grants(template(role_policy=[grant]), ROLE, needed) == [
        f"sqs:DeleteMessage on {QUEUE}",
        "sqs:DeleteMessage on *",
    ]


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "NotAction": "sqs:*", "Resource": "*", "Principal": "*"},
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "NotPrincipal": {"AWS": "x"}},
        {
            "Effect": "Allow",
            "Action": "sqs:*",
            "Resource": "*",
            "Principal": "*",
            "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
        },
        {
            "Effect": "Allow",
            "Action": "sqs:*",
            "Resource": "*",
            "Principal": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}},
        },
    ],
)
def test_what_it_does_not_model_is_refused_not_guessed(statement: dict[str, Any]) -> None:
    with pytest.raises(NotModelledError):
        decide(template([statement]), Request(SNS, "sqs:SendMessage", QUEUE, FROM_TOPIC))


def test_names_and_arns_resolve_as_aws_returns_them() -> None:
    t = Template(
        {
            "Resources": {
                "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "a.fifo"}},
                "B": {"Type": "AWS::S3::Bucket", "Properties": {}},
                "T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "x"}},
            }
        }
    )
    assert t.resolve({"Ref": "Q"}) == f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/a.fifo"
    assert t.resolve({"Fn::GetAtt": ["Q", "Arn"]}) == f"arn:aws:sqs:eu-west-1:{ACCOUNT}:a.fifo"
    assert t.resolve({"Fn::Join": ["", [{"Fn::GetAtt": ["B", "Arn"]}, "/*"]]}) == "arn:aws:s3:::b/*"
    assert t.resolve({"Fn::GetAtt": ["T", "StreamArn"]}).startswith(
        f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/x/stream/"
    )
    with pytest.raises(NotModelledError):
        t.resolve({"Fn::ImportValue": "x"})
