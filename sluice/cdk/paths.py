"""Every service-to-service path of an app's stack, as requests to evaluate (``policy``).

For each path, the calls AWS makes on it (which must be allowed) and look-alikes that must
not be (plain HTTP, another source). For each function, the calls its code and its event
source make, derived from the declaration and from what the runtime calls
(``RUNTIME_CALLS``); the role must allow them and nothing else (``policy.unused_grants``).

The paths: CloudWatch alarm -> alarms topic (topic and key policy); SNS -> each subscribed
queue and each subscription DLQ (queue policy, key if any); each function -> what it
calls (a container worker's task role, the same calls less logging and tracing); the
stream mapping -> its failure bucket, and S3 -> the failure queue; producer accounts -> the
events topic; declared direct callers -> the API function (and its URL); EventBridge
Scheduler -> each schedule's role (its trust policy), and each schedule's role -> its
topic or queue, the topic's key and its DLQ.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sluice.app import IDEMPOTENCY_TABLE
from sluice.cdk.policy import ACCOUNT, PARTITION, REGION, Principal, Request, Template, service
from sluice.runtime import Runtime, Source, WorkerSpec
from sluice.topology import Topology

# What the shipped runtime calls, by the part of it a declaration switches on. A test reads
# the runtime's source and checks these against its SDK calls, so they cannot drift.
RUNTIME_CALLS = {
    "queue": (
        "sqs:GetQueueUrl",  # the source queue and its DLQ, from their ARNs
        "sqs:GetQueueAttributes",  # the source queue's redrive policy
        "sqs:ChangeMessageVisibility",  # backoff (ChangeMessageVisibilityBatch)
    ),
    "dead_letter": ("sqs:SendMessage", "sqs:GetQueueUrl"),  # SendMessageBatch to the DLQ
    "idempotency": (
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",  # the claim and the completion, both conditional
        "dynamodb:UpdateItem",  # conditional: a lease extended by `sluice work`'s heartbeat
        "dynamodb:DeleteItem",  # conditional: a failed record's lease released, or abandoned
    ),
    "writes": ("dynamodb:PutItem", "dynamodb:UpdateItem"),  # TransactWriteItems Put/Update
    "publish": ("sns:Publish",),  # Publish and PublishBatch
}
# What Lambda does with the function's role on its behalf.
SQS_POLLING = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
)
STREAM_POLLING = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
LOGS = ("logs:CreateLogStream", "logs:PutLogEvents")
XRAY = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
DATA_KEYS = ("kms:GenerateDataKey", "kms:Decrypt")
TLS = {"aws:SecureTransport": "true"}
FOREIGN_ACCOUNT = "444455556666"


@dataclass
class Path:
    """One path: the calls that must be allowed, and look-alikes that must be denied."""

    name: str
    allowed: list[Request] = field(default_factory=list)
    denied: list[Request] = field(default_factory=list)


@dataclass
class FunctionCalls:
    """A function's role and every call made with it."""

    function: str
    role_arn: str
    calls: list[Request]


class Paths:
    """The paths of ``template``, synthesized from ``topology``'s app."""

    def __init__(self, template: Template, topology: Topology) -> None:
        self.t = template
        self.topology = topology

    def arn(self, kind: str, name: str) -> str:
        """The ARN of the resource of ``kind`` whose physical name is ``name``."""
        for logical in self.t.of_type(kind):
            if self.t.name(logical) == name:
                return self.t.attribute(logical, "Arn")
        raise LookupError(f"no {kind} named {name!r}")

    def key_of_topic(self, topic: str) -> str:
        """The ARN of the KMS key a topic is encrypted with."""
        for logical in self.t.of_type("AWS::SNS::Topic"):
            if self.t.name(logical) == topic:
                return str(self.t.resolve(self.t.props(logical)["KmsMasterKeyId"]))
        raise LookupError(topic)

    def everything(self) -> list[Path]:
        """Every service path of the stack."""
        return [
            *self.alarms(),
            *self.subscriptions(),
            *self.failure_notices(),
            *self.producers(),
            *self.direct_callers(),
            *self.schedules(),
        ]

    def schedules(self) -> list[Path]:
        """EventBridge Scheduler assumes each schedule's role, for that schedule only."""
        scheduler = service("scheduler.amazonaws.com")
        paths = []
        for props in self._schedules():
            role = str(props["Target"]["RoleArn"])
            source = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": _schedule_arn(props)}
            path = Path(f"scheduler {props['Name']} -> {role}")
            path.allowed.append(Request(scheduler, "sts:AssumeRole", role, source))
            other = {**source, "aws:SourceArn": _schedule_arn({"Name": "someone-else"})}
            foreign = {**source, "aws:SourceAccount": FOREIGN_ACCOUNT}
            path.denied += [Request(scheduler, "sts:AssumeRole", role, c) for c in (other, foreign)]
            paths.append(path)
        return paths

    def schedule_roles(self) -> list[FunctionCalls]:
        """Each schedule's role with its calls: the send its target makes, and its DLQ."""
        found = []
        for props in self._schedules():
            target = props["Target"]
            who = Principal(role_arn=str(target["RoleArn"]))
            request = json.loads(target["Input"])
            calls = [Request(who, "sqs:SendMessage", target["DeadLetterConfig"]["Arn"], TLS)]
            if str(target["Arn"]).endswith(":sns:publish"):
                topic = str(request["TopicArn"])
                calls.append(Request(who, "sns:Publish", topic, TLS))
                key = self.key_of_topic(topic.rsplit(":", 1)[-1])
                calls += [Request(who, a, key, TLS) for a in DATA_KEYS]
            else:
                queue = self.arn("AWS::SQS::Queue", str(request["QueueUrl"]).rsplit("/", 1)[-1])
                calls.append(Request(who, "sqs:SendMessage", queue, TLS))
            found.append(FunctionCalls(f"schedule {props['Name']}", who.role_arn or "", calls))
        return found

    def _schedules(self) -> list[dict[str, Any]]:
        return [
            self.t.resolve(r["Properties"])
            for r in self.t.of_type("AWS::Scheduler::Schedule").values()
        ]

    def alarms(self) -> list[Path]:
        """CloudWatch publishes each alarm's state change to the alarms topic."""
        topic = self.arn("AWS::SNS::Topic", self.topology.alarms_topic)
        key = self.key_of_topic(self.topology.alarms_topic)
        cloudwatch = service("cloudwatch.amazonaws.com")
        paths = []
        for logical, alarm in self.t.of_type("AWS::CloudWatch::Alarm").items():
            source = {
                "aws:SourceArn": self.t.attribute(logical, "Arn"),
                "aws:SourceAccount": ACCOUNT,
            }
            assert self.t.resolve(alarm["Properties"]["AlarmActions"]) == [topic], logical
            path = Path(f"alarm {self.t.name(logical)} -> {self.topology.alarms_topic}")
            path.allowed.append(Request(cloudwatch, "sns:Publish", topic, {**source, **TLS}))
            path.allowed += [Request(cloudwatch, a, key, source) for a in DATA_KEYS]
            path.denied += _look_alikes(cloudwatch, "sns:Publish", topic, source)
            paths.append(path)
        return paths

    def subscriptions(self) -> list[Path]:
        """SNS delivers to each subscribed queue, and dead-letters to the subscription DLQ."""
        sns = service("sns.amazonaws.com")
        paths = []
        for subscription in self.t.of_type("AWS::SNS::Subscription").values():
            props = self.t.resolve(subscription["Properties"])
            source = {"aws:SourceArn": props["TopicArn"], "aws:SourceAccount": ACCOUNT}
            targets = [props["Endpoint"]]
            if "RedrivePolicy" in props:
                targets.append(props["RedrivePolicy"]["deadLetterTargetArn"])
            for queue in targets:
                path = Path(f"{props['TopicArn']} -> {queue}")
                path.allowed.append(Request(sns, "sqs:SendMessage", queue, {**source, **TLS}))
                key = self._queue_key(queue)
                if key is not None:
                    path.allowed += [Request(sns, a, key, source) for a in DATA_KEYS]
                path.denied += _look_alikes(sns, "sqs:SendMessage", queue, source)
                paths.append(path)
        return paths

    def failure_notices(self) -> list[Path]:
        """S3 announces each stream-failure object on the worker's failure queue."""
        s3 = service("s3.amazonaws.com")
        paths = []
        for spec in self.topology.registry.by_source(Source.STREAM):
            bucket = self.failure_bucket(spec)
            queue = self.arn("AWS::SQS::Queue", self.topology.stream_failure_queue(spec))
            source = {"aws:SourceArn": bucket, "aws:SourceAccount": ACCOUNT}
            path = Path(f"{bucket} -> {queue}")
            path.allowed.append(Request(s3, "sqs:SendMessage", queue, {**source, **TLS}))
            path.denied += _look_alikes(s3, "sqs:SendMessage", queue, source)
            paths.append(path)
        return paths

    def producers(self) -> list[Path]:
        """Producers in the declared accounts publish to the events topic; no one else."""
        topic = self.arn("AWS::SNS::Topic", self.topology.topic)
        key = self.key_of_topic(self.topology.topic)
        paths = []
        for account in (*self.topology.app.producer_accounts, FOREIGN_ACCOUNT):
            who = Principal(role_arn=f"arn:{PARTITION}:iam::{account}:role/producer")
            path = Path(f"producer in {account} -> {self.topology.topic}")
            calls = [Request(who, "sns:Publish", topic, TLS)]
            calls += [Request(who, a, key) for a in DATA_KEYS]
            if account == FOREIGN_ACCOUNT:
                path.denied += calls
            else:
                path.allowed += calls
                path.denied.append(
                    Request(who, "sns:Publish", topic, {"aws:SecureTransport": "false"})
                )
            paths.append(path)
        return paths

    def direct_callers(self) -> list[Path]:
        """Each declared caller invokes the API function (and its URL, if any); no one else.

        Look-alikes: the same role name in another account, another role of the caller's
        account (unless the whole account is declared), other Lambda actions, and the
        function URL with another auth type (or at all, when there is none).
        """
        api = self.topology.app.api
        if api is None or not api.callers.principals:
            return []
        function = self.arn("AWS::Lambda::Function", self._function_name(api.name))
        url = {"lambda:FunctionUrlAuthType": "AWS_IAM"}
        callers = api.callers
        paths = []
        for declared in callers.principals:
            account = declared if declared.isdigit() else declared.split(":")[4]
            name = "producer" if declared.isdigit() else declared.rsplit("/", 1)[-1]
            who = Principal(role_arn=f"arn:{PARTITION}:iam::{account}:role/{name}")
            path = Path(f"{declared} -> {function}")
            path.allowed.append(Request(who, "lambda:InvokeFunction", function))
            url_call = Request(who, "lambda:InvokeFunctionUrl", function, url)
            (path.allowed if callers.function_url else path.denied).append(url_call)
            path.denied.append(
                Request(
                    who,
                    "lambda:InvokeFunctionUrl",
                    function,
                    {"lambda:FunctionUrlAuthType": "NONE"},
                )
            )
            path.denied += [
                Request(who, action, function)
                for action in ("lambda:UpdateFunctionCode", "lambda:GetFunction")
            ]
            elsewhere = f"arn:{PARTITION}:iam::{FOREIGN_ACCOUNT}:role/{name}"
            path.denied.append(
                Request(Principal(role_arn=elsewhere), "lambda:InvokeFunction", function)
            )
            if account not in callers.accounts:
                other = f"arn:{PARTITION}:iam::{account}:role/{name}-look-alike"
                path.denied.append(
                    Request(Principal(role_arn=other), "lambda:InvokeFunction", function)
                )
            paths.append(path)
        return paths

    def failure_bucket(self, spec: WorkerSpec) -> str:
        """The ARN of a stream worker's on-failure bucket, from its event source mapping."""
        function = self.arn("AWS::Lambda::Function", self._function_name(spec.name))
        for mapping in self.t.of_type("AWS::Lambda::EventSourceMapping").values():
            props = self.t.resolve(mapping["Properties"])
            if self.arn("AWS::Lambda::Function", props["FunctionName"]) == function:
                return str(props["DestinationConfig"]["OnFailure"]["Destination"])
        raise LookupError(f"no event source mapping for {spec.name}")

    def functions(self) -> list[FunctionCalls]:
        """Every function of the app with the calls its role must allow."""
        found = [self.worker(spec) for spec in self.topology.registry.specs]
        api = self.topology.app.api
        if api is not None:
            name = self._function_name(api.name)
            calls = self._basics(name)
            for table in api.tables:
                arn = self.arn("AWS::DynamoDB::Table", self.topology.table(table))
                calls += self._calls(name, api.table_actions, arn)
            found.append(FunctionCalls(name, self._role(name), calls))
        return found

    def worker(self, spec: WorkerSpec) -> FunctionCalls:
        """A worker's calls: its event source's, the runtime's parts it uses, its own."""
        name = self._function_name(spec.name)
        # A container task's role writes no logs (its execution role's log driver does).
        calls = [] if spec.runtime is Runtime.CONTAINER else self._basics(name)
        tables = self.topology.tables
        if spec.source is Source.STREAM:
            table = self.arn("AWS::DynamoDB::Table", tables[spec.table or ""])
            calls += self._calls(name, STREAM_POLLING, f"{table}/stream/label")
            calls += self._calls(name, ("dynamodb:ListStreams",), "*")
            bucket = self.failure_bucket(spec)
            calls += self._calls(name, ("s3:ListBucket",), bucket)
            calls += self._calls(name, ("s3:PutObject",), f"{bucket}/shard/record.json")
        else:
            queues = self.topology.queues(spec)
            queue = self.arn("AWS::SQS::Queue", queues.queue)
            calls += self._calls(name, SQS_POLLING + RUNTIME_CALLS["queue"], queue)
            dlq = self.arn("AWS::SQS::Queue", queues.dlq)
            calls += self._calls(name, RUNTIME_CALLS["dead_letter"], dlq)
        if spec.idempotent:
            table = self.arn("AWS::DynamoDB::Table", tables[IDEMPOTENCY_TABLE])
            calls += self._calls(name, RUNTIME_CALLS["idempotency"], table)
        for logical in spec.writes:
            table = self.arn("AWS::DynamoDB::Table", tables[logical])
            calls += self._calls(name, RUNTIME_CALLS["writes"], table)
        if spec.publishes:
            topic = self.arn("AWS::SNS::Topic", self.topology.topic)
            calls += self._calls(name, RUNTIME_CALLS["publish"], topic)
            calls += self._calls(name, DATA_KEYS, self.key_of_topic(self.topology.topic))
        return FunctionCalls(name, self._role(name), calls)

    def _basics(self, name: str) -> list[Request]:
        group = self.arn("AWS::Logs::LogGroup", f"/aws/lambda/{name}")
        calls = self._calls(name, LOGS, group.removesuffix("*") + "log-stream:2024/01/01")
        return calls + self._calls(name, XRAY, "*")

    def _calls(self, function: str, actions: Iterable[str], resource: str) -> list[Request]:
        who = Principal(role_arn=self._role(function))
        return [Request(who, action, resource, TLS) for action in actions]

    def _role(self, function: str) -> str:
        """A function's role, or the task role of the ECS service of that name."""
        for logical in self.t.of_type("AWS::Lambda::Function"):
            if self.t.name(logical) == function:
                return str(self.t.resolve(self.t.props(logical)["Role"]))
        for ecs_service in self.t.of_type("AWS::ECS::Service").values():
            if ecs_service["Properties"].get("ServiceName") == function:
                task = ecs_service["Properties"]["TaskDefinition"]["Ref"]
                return str(self.t.resolve(self.t.props(task)["TaskRoleArn"]))
        raise LookupError(function)

    def _function_name(self, name: str) -> str:
        return f"{self.topology.prefix}-{name}"

    def _queue_key(self, queue_arn: str) -> str | None:
        for logical in self.t.of_type("AWS::SQS::Queue"):
            if self.t.attribute(logical, "Arn") == queue_arn:
                key = self.t.props(logical).get("KmsMasterKeyId")
                return None if key is None else str(self.t.resolve(key))
        raise LookupError(queue_arn)


def _schedule_arn(props: dict[str, Any]) -> str:
    group = props.get("GroupName", "default")
    return f"arn:{PARTITION}:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{props['Name']}"


def _look_alikes(
    who: Principal, action: str, resource: str, source: dict[str, str]
) -> list[Request]:
    """The same call over plain HTTP, from another resource, and for another account.

    The last only where the source's ARN does not name its account (an S3 bucket's): a
    bucket deleted in this account can be created again by anyone.
    """
    elsewhere = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:someone-else"
    found = [
        Request(who, action, resource, {**source, "aws:SecureTransport": "false"}),
        Request(who, action, resource, {**source, "aws:SourceArn": elsewhere, **TLS}),
    ]
    if source["aws:SourceArn"].split(":")[4] == "":
        foreign = {**source, "aws:SourceAccount": FOREIGN_ACCOUNT, **TLS}
        found.append(Request(who, action, resource, foreign))
    return found
