"""cdk-nag acknowledgments: each rule accepted here once, with the reason, applied narrowly.

Constructs call ``acknowledge(construct, RULE)`` on the one resource a finding is about;
there are no stack-wide acknowledgments.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

RUNTIME = "AwsSolutions::AwsSolutions-L1"
IS_A_DLQ = "AwsSolutions::AwsSolutions-SQS3"
WILDCARD_REQUIRED = "AwsSolutions::AwsSolutions-IAM5[Resource::*]"
KMS_DATA_KEYS = "AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]"
APIGW_LOGS_ROLE = (
    "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs]"
)
NO_ACCESS_LOGS = "AwsSolutions::AwsSolutions-S1"
FAILURE_OBJECTS = "AwsSolutions::AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]"
"""Formatted with the bucket's logical id (``acknowledge_failure_objects``)."""
NOTIFICATIONS_HANDLER = (
    "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
    "service-role/AWSLambdaBasicExecutionRole]"
)
NO_COGNITO = "AwsSolutions::AwsSolutions-COG4"
NO_WAF = "AwsSolutions::AwsSolutions-APIG3"
PLAIN_ENVIRONMENT = "AwsSolutions::AwsSolutions-ECS2"

REASONS: dict[str, str] = {
    RUNTIME: (
        "Python 3.12 is pinned on purpose: the dependencies layer is built for cp312 "
        "(pip --python-version 3.12) and the runtime is tested on it; moving runtime is one "
        "change in sluice/cdk/defaults.py together with the layer."
    ),
    IS_A_DLQ: (
        "This queue is itself a dead-letter queue: an SNS subscription's redrive target or a "
        "stream event source's on-failure destination (neither is an SQS redrive, which is "
        "all the rule sees); it is alarmed and read by `sluice dlq`."
    ),
    WILDCARD_REQUIRED: (
        "dynamodb:ListStreams (stream readers), xray:PutTraceSegments/PutTelemetryRecords "
        "(traced functions) and ecr:GetAuthorizationToken (a container task pulling its "
        "image) have no resource-level permissions, so AWS requires Resource '*'; they only "
        "list stream ARNs, write traces or fetch a registry token. Reading records is scoped "
        "to the table's stream ARN, pulling layers to the image's repository."
    ),
    KMS_DATA_KEYS: (
        "Publishing to a KMS-encrypted SNS topic needs kms:GenerateDataKey* (GenerateDataKey "
        "and its WithoutPlaintext form); the statement is scoped to the topics key only."
    ),
    APIGW_LOGS_ROLE: (
        "API Gateway writes access and execution logs only through the account-level "
        "CloudWatch role; AWS publishes this managed policy for exactly that role and keeps "
        "it minimal (log groups and streams of API Gateway)."
    ),
    NO_ACCESS_LOGS: (
        "The stream-failure bucket is written only by Lambda's on-failure delivery and read "
        "by `sluice dlq`; CloudTrail data events are the place to audit it where required. "
        "Server access logs would need a second, log-only bucket per stream worker."
    ),
    FAILURE_OBJECTS: (
        "Lambda names each on-failure object itself (a key per shard and time), so its "
        "s3:PutObject is granted on the failure bucket's objects, that bucket only."
    ),
    NOTIFICATIONS_HANDLER: (
        "CDK's own bucket-notifications handler (one per stack) runs once per deploy to set "
        "the failure bucket's notification; AWS's basic execution policy only lets it log."
    ),
    NO_COGNITO: (
        "Callers are services holding IAM credentials, so every method uses AWS_IAM (SigV4) "
        "authorization instead of a Cognito user pool; there are no end-user sign-ins."
    ),
    NO_WAF: (
        "WAF is a per-deployment choice (rules and cost depend on who calls the API); IAM "
        "auth rejects unsigned requests and stage throttling caps the rate meanwhile. "
        "Associate a web ACL with the stage when the API is exposed to untrusted networks."
    ),
    PLAIN_ENVIRONMENT: (
        "A container worker's environment holds resource names only (tables, topic ARN, "
        "queue URL), the same SLUICE_* variables a worker function gets; no secrets."
    ),
}


def acknowledge(scope: IConstruct, *rule_ids: str, **fields: str) -> None:
    """Acknowledge ``rule_ids`` on ``scope`` (and what it contains), with their reasons.

    A rule id with a ``{field}`` in it (``FAILURE_OBJECTS``) is formatted with ``fields``.
    """
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=rule.format(**fields), reason=REASONS[rule]) for rule in rule_ids)
    )
