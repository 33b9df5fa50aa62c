"""ContainerWorker: a queue worker run by ``sluice work`` tasks on ECS Fargate.

The same queue, DLQ and subscription as a Lambda worker (``worker_queues``); instead of a
function and an event source mapping, a Fargate service on arm64 whose tasks run
``sluice work <name>``. It scales on backlog per task (visible messages / running tasks)
towards ``throughput x CONTAINER_BACKLOG_SECONDS``, between the declared ``min_tasks`` and
``max_tasks``; CPU plays no part. The task role gets exactly what the runtime and the
declaration call, as a function's role would, plus the queue calls Lambda's poller would
have made on the worker's behalf (receive, delete, change visibility).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from sluice.cdk import defaults, nag
from sluice.cdk.containers import Fleet
from sluice.cdk.queue_worker import worker_queues
from sluice.cdk.shared import Shared
from sluice.runtime import WorkerSpec
from sluice.sizing import fargate_size

QUEUE_URL_ENV = "SLUICE_QUEUE_URL"
"""What ``sluice work`` reads for its queue (``sluice.container.launch``)."""


class ContainerWorker(Construct):
    """A queue worker's queues, its Fargate service, scaling, task role and alarms."""

    def __init__(
        self, scope: Construct, construct_id: str, *, spec: WorkerSpec, shared: Shared
    ) -> None:
        super().__init__(scope, construct_id)
        topology = shared.topology
        fleet = Fleet.of(self, topology)
        self.queue, self.dlq, queues = worker_queues(self, spec, shared)
        self.service_name = topology.container_service(spec.name)
        self.role = iam.Role(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description=f"sluice work {spec.name}: its queue, DLQ and declared grants only",
        )
        self.queue.grant_consume_messages(self.role)
        self.dlq.grant(self.role, "sqs:SendMessage", "sqs:GetQueueUrl")
        shared.grant(self.role, spec)
        cpu, memory = fargate_size(spec.memory_mb)
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=cpu,
            memory_limit_mib=memory,
            task_role=self.role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.of(defaults.CONTAINER_ARCHITECTURE),
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=topology.container_log_group(spec.name),
            retention=defaults.LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        container = task.add_container(
            "work",
            image=fleet.image,
            command=self.command(spec),
            environment={
                **topology.worker_environment(shared.bus.topic.topic_arn),
                QUEUE_URL_ENV: self.queue.queue_url,
                "POWERTOOLS_SERVICE_NAME": spec.name,
                "POWERTOOLS_METRICS_NAMESPACE": defaults.METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": defaults.LOG_LEVEL,
            },
            logging=ecs.LogDrivers.aws_logs(stream_prefix=spec.name, log_group=log_group),
            health_check=ecs.HealthCheck(
                command=[
                    "CMD",
                    "python",
                    "-m",
                    "sluice.container.health",
                    defaults.CONTAINER_HEALTH_FILE,
                    str(defaults.CONTAINER_HEALTH_MAX_AGE_S),
                ],
                interval=Duration.seconds(30),
                start_period=Duration.seconds(60),
            ),
            stop_timeout=defaults.CONTAINER_STOP_TIMEOUT,
            readonly_root_filesystem=False,
        )
        nag.acknowledge(task, nag.PLAIN_ENVIRONMENT)
        if task.execution_role is not None:
            nag.acknowledge(task.execution_role, nag.WILDCARD_REQUIRED)
        self.container = container
        self.service = ecs.FargateService(
            self,
            "Service",
            service_name=self.service_name,
            cluster=fleet.cluster,
            task_definition=task,
            desired_count=spec.min_tasks,
            assign_public_ip=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        running = cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map={
                "ClusterName": fleet.cluster_name,
                "ServiceName": self.service_name,
            },
            period=defaults.ALARM_PERIOD,
            statistic="Average",
        )
        self.scaling = self._scale(spec, running)
        shared.monitoring.watch_container(
            spec, self.service_name, fleet.cluster_name, queues, running
        )

    @staticmethod
    def command(spec: WorkerSpec) -> list[str]:
        """What each task runs."""
        return [
            "sluice",
            "work",
            spec.name,
            "--concurrency",
            str(spec.max_concurrency * spec.max_invocations),
            "--drain-s",
            str(defaults.CONTAINER_DRAIN_S),
            "--health-file",
            defaults.CONTAINER_HEALTH_FILE,
        ]

    @staticmethod
    def backlog_target(spec: WorkerSpec) -> float:
        """Messages per task to aim for: what one task clears in the backlog window."""
        return round(spec.throughput * defaults.CONTAINER_BACKLOG_SECONDS, 2)

    def _scale(self, spec: WorkerSpec, running: cloudwatch.Metric) -> autoscaling.CfnScalingPolicy:
        """Target tracking on visible / running tasks, between min_tasks and max_tasks.

        The L2 ``scale_to_track_custom_metric`` refuses metric math (CDK's
        DirectMetricsSupportedTargetTracking), so the scalable target is the L2 one and the
        policy is the L1 with a metric-math ``CustomizedMetricSpecification``.
        """
        capacity = self.service.auto_scale_task_count(
            min_capacity=spec.min_tasks, max_capacity=spec.max_tasks
        )
        target = capacity.node.find_child("Target")
        assert isinstance(target, autoscaling.ScalableTarget)
        visible = self.queue.metric_approximate_number_of_messages_visible()
        query = autoscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty
        stat = autoscaling.CfnScalingPolicy.TargetTrackingMetricStatProperty
        metric = autoscaling.CfnScalingPolicy.TargetTrackingMetricProperty
        dimension = autoscaling.CfnScalingPolicy.TargetTrackingMetricDimensionProperty

        def raw(
            id_: str, of: cloudwatch.Metric, statistic: str
        ) -> autoscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty:
            config = of.to_metric_config().metric_stat
            assert config is not None
            return query(
                id=id_,
                return_data=False,
                metric_stat=stat(
                    stat=statistic,
                    metric=metric(
                        namespace=config.namespace,
                        metric_name=config.metric_name,
                        dimensions=[
                            dimension(name=d.name, value=d.value) for d in config.dimensions or []
                        ],
                    ),
                ),
            )

        return autoscaling.CfnScalingPolicy(
            self,
            "BacklogPerTask",
            policy_name=f"{self.service_name}-backlog-per-task",
            policy_type="TargetTrackingScaling",
            scaling_target_id=target.scalable_target_id,
            target_tracking_scaling_policy_configuration=autoscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=self.backlog_target(spec),
                scale_in_cooldown=defaults.CONTAINER_SCALE_IN_COOLDOWN.to_seconds(),
                scale_out_cooldown=defaults.CONTAINER_SCALE_OUT_COOLDOWN.to_seconds(),
                customized_metric_specification=autoscaling.CfnScalingPolicy.CustomizedMetricSpecificationProperty(
                    metrics=[
                        raw("visible", visible, "Sum"),
                        raw("running", running, "Average"),
                        query(
                            id="backlog",
                            label="visible messages per running task",
                            expression="visible / IF(running > 0, running, 1)",
                            return_data=True,
                        ),
                    ]
                ),
            ),
        )
