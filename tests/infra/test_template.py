"""The template holds, for every registered worker, everything its declaration implies."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from app import APP
from sluice.cdk.api import GatewayRoute, gateway_routes
from sluice.runtime import Runtime, Source
from sluice.runtime.context import ENV_TOPIC
from sluice.topology import STREAM_FAILURE_RETENTION_DAYS, Dlq
from tests.infra.conftest import REGISTRY, TOPOLOGY, Synth
from tests.infra.expect import failure_bucket_id

pytestmark = pytest.mark.infra

QUEUE_WORKERS = [s.name for s in REGISTRY.specs if s.source.is_queue]
LAMBDAS = [s for s in REGISTRY.specs if s.runtime is Runtime.LAMBDA]
QUEUE_FUNCTIONS = [s.name for s in LAMBDAS if s.source.is_queue]
STREAM_WORKERS = [s.name for s in REGISTRY.specs if s.source is Source.STREAM]
DLQS = TOPOLOGY.dlqs()
FOURTEEN_DAYS = 14 * 24 * 3600


def arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def test_the_test_workers_are_in_the_registry_the_app_was_built_from(synth: Synth) -> None:
    # GIVEN workers declared only in tests/infra/extra_workers.py
    # THEN the app built from the registry made functions for them too (no infra change)
    names = {v["Properties"]["FunctionName"] for v in synth.functions().values()}
    assert {"sluice-refunds", "sluice-mirror"} <= names
    assert names == {f"sluice-{s.name}" for s in LAMBDAS} | {"sluice-api"}


@pytest.mark.parametrize("name", QUEUE_WORKERS)
def test_queue_worker_gets_queue_dlq_and_redrive(synth: Synth, name: str) -> None:
    spec = REGISTRY.get(name).spec
    names = TOPOLOGY.queues(spec)
    fifo = {"FifoQueue": True} if names.fifo else {}
    synth.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": names.dlq,
            "MessageRetentionPeriod": FOURTEEN_DAYS,
            "SqsManagedSseEnabled": True,
            **fifo,
        },
    )
    synth.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": names.queue,
            "SqsManagedSseEnabled": True,
            "VisibilityTimeout": spec.visibility_timeout_s,
            "RedrivePolicy": {
                "deadLetterTargetArn": arn(synth.queue_id(names.dlq)),
                "maxReceiveCount": spec.max_receive_count,
            },
            **fifo,
        },
    )


@pytest.mark.parametrize("name", QUEUE_WORKERS)
def test_queue_worker_subscription_has_the_exact_filter_policy(synth: Synth, name: str) -> None:
    spec = REGISTRY.get(name).spec
    names = TOPOLOGY.queues(spec)
    endpoint = arn(synth.queue_id(names.queue))
    subscriptions = [
        s["Properties"]
        for s in synth.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Endpoint"] == endpoint
    ]
    if spec.source is not Source.SNS_QUEUE:
        # FIFO and direct-SQS workers are sent to by producers, never through the topic.
        assert subscriptions == []
        return
    assert len(subscriptions) == 1
    subscription = subscriptions[0]
    assert subscription["Protocol"] == "sqs"
    assert subscription["TopicArn"] == ref(
        synth.logical_id("AWS::SNS::Topic", TopicName="sluice-events")
    )
    assert subscription["RawMessageDelivery"] is True
    assert subscription["RedrivePolicy"] == {
        "deadLetterTargetArn": arn(synth.queue_id(names.subscription_dlq or ""))
    }
    assert subscription.get("FilterPolicy") == TOPOLOGY.filter_policy(spec)
    assert subscription.get("FilterPolicyScope", "MessageAttributes") == "MessageAttributes"


@pytest.mark.parametrize("name", [s.name for s in LAMBDAS])
def test_worker_function_matches_its_declaration(synth: Synth, name: str) -> None:
    spec = REGISTRY.get(name).spec
    synth.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": f"sluice-{name}",
            "Handler": spec.handler_path,
            "Runtime": "python3.12",
            "Architectures": ["arm64"],
            "MemorySize": spec.memory_mb,
            "Timeout": spec.timeout_s,
            "Layers": [ref(synth.logical_id("AWS::Lambda::LayerVersion"))],
            "Environment": {
                "Variables": {
                    **TOPOLOGY.worker_environment("topic"),
                    ENV_TOPIC: ref(synth.logical_id("AWS::SNS::Topic", TopicName=TOPOLOGY.topic)),
                    "POWERTOOLS_SERVICE_NAME": name,
                    "POWERTOOLS_METRICS_NAMESPACE": "Sluice",
                    "POWERTOOLS_LOG_LEVEL": "INFO",
                }
            },
        },
    )


@pytest.mark.parametrize("name", QUEUE_FUNCTIONS)
def test_queue_event_source_reports_item_failures(synth: Synth, name: str) -> None:
    spec = REGISTRY.get(name).spec
    names = TOPOLOGY.queues(spec)
    window = (
        {"MaximumBatchingWindowInSeconds": spec.batching_window_s} if spec.batching_window_s else {}
    )
    synth.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": ref(synth.function_id(f"sluice-{name}")),
            "EventSourceArn": arn(synth.queue_id(names.queue)),
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": spec.batch_size,
            "ScalingConfig": {"MaximumConcurrency": spec.max_invocations},
            **window,
        },
    )
    queue = synth.resources("AWS::SQS::Queue")[synth.queue_id(names.queue)]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * spec.timeout_s


@pytest.mark.parametrize("name", STREAM_WORKERS)
def test_stream_event_source_has_failure_handling(synth: Synth, name: str) -> None:
    spec = REGISTRY.get(name).spec
    failures = TOPOLOGY.stream_failure_queue(spec)
    table = synth.logical_id("AWS::DynamoDB::Table", TableName=TOPOLOGY.table(spec.table or ""))
    synth.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": failures,
            "SqsManagedSseEnabled": True,
            "MessageRetentionPeriod": FOURTEEN_DAYS,
        },
    )
    bucket = failure_bucket_id(synth, spec)
    synth.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": ref(synth.function_id(f"sluice-{name}")),
            "EventSourceArn": {"Fn::GetAtt": [table, "StreamArn"]},
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": spec.batch_size,
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": spec.retry_attempts,
            "MaximumRecordAgeInSeconds": spec.max_record_age_s,
            "ParallelizationFactor": spec.parallelization,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Destination": arn(bucket)}},
        },
    )
    # The whole invocation record goes to a private, encrypted, expiring bucket, and each
    # object is announced on the failure queue the DLQ tools and alarms watch.
    props = synth.resources("AWS::S3::Bucket")[bucket]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
    )
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    # ...after the number of days `sluice dlq ls` assumes when it cannot read the lifecycle
    assert (rule["ExpirationInDays"], rule["Status"]) == (STREAM_FAILURE_RETENTION_DAYS, "Enabled")
    assert STREAM_FAILURE_RETENTION_DAYS == 14
    (notice,) = [
        n["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
        for n in synth.resources("Custom::S3BucketNotifications").values()
        if n["Properties"]["BucketName"] == ref(bucket)
    ]
    assert notice == [{"Events": ["s3:ObjectCreated:*"], "QueueArn": arn(synth.queue_id(failures))}]


def test_a_declared_parallelization_is_the_stream_event_sources_factor(synth: Synth) -> None:
    # GIVEN the test-only mirror declares parallelization=4 and the relay declares none
    factors = {
        name: synth.resources("AWS::Lambda::EventSourceMapping")[
            synth.logical_id(
                "AWS::Lambda::EventSourceMapping",
                FunctionName=ref(synth.function_id(f"sluice-{name}")),
            )
        ]["Properties"].get("ParallelizationFactor")
        for name in ("mirror", "relay")
    }
    # THEN each stream's event source mapping runs that many batches per shard
    assert factors == {"mirror": 4, "relay": 1}


def alarms_of(synth: Synth) -> dict[str, dict[str, Any]]:
    """Alarm name -> properties."""
    return {
        v["Properties"]["AlarmName"]: v["Properties"]
        for v in synth.resources("AWS::CloudWatch::Alarm").values()
    }


@pytest.mark.parametrize("dlq", DLQS, ids=[d.name for d in DLQS])
def test_every_dlq_alarms_on_one_visible_message_in_a_minute(synth: Synth, dlq: Dlq) -> None:
    alarm = alarms_of(synth)[dlq.name]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [synth.queue_id(dlq.name), "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert (alarm["Period"], alarm["EvaluationPeriods"]) == (60, 1)
    assert alarm["AlarmDescription"].endswith(f"First run: sluice dlq show {dlq.name}")
    # SQS stops reporting an idle queue: missing data must not clear the alarm
    assert alarm["TreatMissingData"] == "ignore"


@pytest.mark.parametrize("dlq", DLQS, ids=[d.name for d in DLQS])
def test_every_dlq_alarms_on_a_dead_letter_left_unhandled(synth: Synth, dlq: Dlq) -> None:
    alarm = alarms_of(synth)[f"{dlq.name}-age"]
    assert alarm["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert alarm["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": [synth.queue_id(dlq.name), "QueueName"]
    }
    assert (alarm["Threshold"], alarm["TreatMissingData"]) == (12 * 3600, "ignore")
    assert alarm["AlarmDescription"].endswith(f"First run: sluice dlq show {dlq.name}")


def test_cloudwatch_may_publish_to_the_alarms_topic_for_this_stacks_alarms(synth: Synth) -> None:
    # enforce_ssl writes a topic policy, which replaces the default one: the alarms need
    # their own Allow (the evaluator checks the path in test_paths.py).
    topic = synth.logical_id("AWS::SNS::Topic", TopicName=TOPOLOGY.alarms_topic)
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.resources("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [ref(topic)]
    ]
    (allow,) = [s for s in policy if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    alarms = sorted(synth.resources("AWS::CloudWatch::Alarm"))
    sources = allow["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(s["Fn::GetAtt"][0] for s in sources) == alarms
    assert all(s["Fn::GetAtt"][1] == "Arn" for s in sources)
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_every_alarm_notifies_the_alarms_topic_and_names_a_first_command(synth: Synth) -> None:
    topic = synth.logical_id("AWS::SNS::Topic", TopicName=TOPOLOGY.alarms_topic)
    alarms = alarms_of(synth)
    assert alarms
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [ref(topic)], name
        assert "First run: " in alarm["AlarmDescription"], name


def test_each_function_queue_and_stream_has_its_alarms(synth: Synth) -> None:
    alarms = alarms_of(synth)
    functions = [f"sluice-{s.name}" for s in LAMBDAS] + ["sluice-api"]
    for function in functions:
        assert alarms[f"{function}-errors"]["MetricName"] == "Errors"
        assert alarms[f"{function}-throttles"]["MetricName"] == "Throttles"
    for spec in REGISTRY.specs:
        if spec.source is Source.STREAM:
            assert alarms[f"sluice-{spec.name}-iterator-age"]["MetricName"] == "IteratorAge"
        else:
            age = alarms[f"sluice-{spec.name}-queue-age"]
            assert age["MetricName"] == "ApproximateAgeOfOldestMessage"
            queue = synth.queue_id(TOPOLOGY.queues(spec).queue)
            assert age["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue, "QueueName"]}


def test_the_gateway_alarms_on_one_5xx_answer_in_a_minute(synth: Synth) -> None:
    alarm = alarms_of(synth)["sluice-api-5xx"]
    (rest,) = synth.resources("AWS::ApiGateway::RestApi").values()
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    assert alarm["Dimensions"] == [{"Name": "ApiName", "Value": rest["Properties"]["Name"]}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        0,
        "GreaterThanThreshold",
    )
    assert (alarm["Period"], alarm["EvaluationPeriods"]) == (60, 1)
    assert alarm["AlarmDescription"].endswith(
        "First run: aws logs tail /aws/apigateway/sluice-api/access --since 15m "
        "--filter-pattern '{ $.status = 5* }'"
    )


def test_dashboard_has_a_row_per_worker(synth: Synth) -> None:
    (board,) = synth.resources("AWS::CloudWatch::Dashboard").values()
    body = str(board["Properties"]["DashboardBody"])
    for spec in REGISTRY.specs:
        for panel in ("throughput", "errors", "DLQ depth", "age"):
            assert f"{spec.name}: {panel}" in body


def test_tables_are_on_demand_recoverable_encrypted_and_named_by_the_topology(synth: Synth) -> None:
    for name in TOPOLOGY.tables.values():
        synth.template.has_resource_properties(
            "AWS::DynamoDB::Table",
            {
                "TableName": name,
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
            },
        )
    synth.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "sluice-orders",
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )
    synth.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "sluice-idempotency",
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
    )


def test_topics_are_kms_encrypted_and_queues_and_topics_refuse_plain_http(synth: Synth) -> None:
    key = synth.logical_id("AWS::KMS::Key")
    assert synth.resources("AWS::KMS::Key")[key]["Properties"]["EnableKeyRotation"] is True
    for topic in synth.resources("AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"] == arn(key)
    secured = {
        r["Ref"]
        for policy in [*synth.resources("AWS::SQS::QueuePolicy").values()]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for r in policy["Properties"]["Queues"]
    }
    assert secured == set(synth.resources("AWS::SQS::Queue"))
    topic_policies = synth.resources("AWS::SNS::TopicPolicy").values()
    tls_topics = {
        t["Ref"]
        for policy in topic_policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for t in policy["Properties"]["Topics"]
    }
    assert tls_topics == set(synth.resources("AWS::SNS::Topic"))


def test_api_requires_iam_auth_and_throttles_logs_and_validates(synth: Synth) -> None:
    assert APP.api is not None
    routes = gateway_routes(APP.api)
    methods = synth.resources("AWS::ApiGateway::Method").values()
    assert len(methods) == len(routes) == 3
    assert GatewayRoute("GET", "/orders/{order_id}", ("order_id",), False) in routes
    validator = synth.logical_id("AWS::ApiGateway::RequestValidator")
    for method in methods:
        props = method["Properties"]
        assert props["AuthorizationType"] == "AWS_IAM"
        assert props["RequestValidatorId"] == ref(validator)
        assert props["Integration"]["Type"] == "AWS_PROXY"
    with_body = [m["Properties"] for m in methods if "RequestModels" in m["Properties"]]
    assert len(with_body) == 1 and with_body[0]["HttpMethod"] == "POST"
    assert [(r.method, r.path) for r in routes if r.body] == [("POST", "/orders")]
    with_id = [m["Properties"] for m in methods if m["Properties"].get("RequestParameters")]
    assert len(with_id) == 2
    assert all(m["RequestParameters"] == {"method.request.path.order_id": True} for m in with_id)
    synth.template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "BAD_REQUEST_BODY",
            "ResponseTemplates": {"application/json": Match.string_like_regexp("invalid-request")},
        },
    )
    synth.template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator",
        {"ValidateRequestBody": True, "ValidateRequestParameters": True},
    )
    synth.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.any_value()},
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "ThrottlingRateLimit": 100,
                            "ThrottlingBurstLimit": 200,
                            "LoggingLevel": "ERROR",
                        }
                    )
                ]
            ),
        },
    )
    synth.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": "sluice-api", "Handler": "producers.api.handler"},
    )
