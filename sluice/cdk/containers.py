"""What every container worker of a stack shares: the VPC, the ECS cluster and the image.

Created once, by the first container worker (``Fleet.of``). The VPC has public subnets
only and no NAT gateway: tasks get a public IP for AWS's APIs and accept no inbound
traffic (their security group has no ingress rule). The image is the project's
``Dockerfile`` as a CDK image asset: ``cdk synth`` only stages the build context into the
cloud assembly (no docker needed); ``cdk deploy`` builds and pushes it, for arm64.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from sluice.cdk import defaults
from sluice.runtime import ConfigurationError
from sluice.topology import Topology

FLEET_ID = "Containers"


class Fleet(Construct):
    """The network, the cluster (Container Insights on) and the one worker image."""

    def __init__(self, scope: Construct, construct_id: str, *, topology: Topology) -> None:
        super().__init__(scope, construct_id)
        root = topology.app.root
        if not (root / defaults.CONTAINER_DOCKERFILE).is_file():
            raise ConfigurationError(
                f"container workers are built from {root / defaults.CONTAINER_DOCKERFILE}, "
                "which does not exist: add a Dockerfile (`sluice new` writes one)"
            )
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=defaults.LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="tasks", subnet_type=ec2.SubnetType.PUBLIC)
            ],
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
                )
            },
        )
        self.cluster_name = topology.container_cluster
        """The cluster's name as a plain string (runbook lines and metric dimensions)."""
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=self.cluster_name,
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.image = ecs.ContainerImage.from_asset(
            str(root),
            file=defaults.CONTAINER_DOCKERFILE,
            platform=ecr_assets.Platform.LINUX_ARM64,
        )

    @classmethod
    def of(cls, scope: Construct, topology: Topology) -> Fleet:
        """The stack's fleet, created on first use."""
        stack = Stack.of(scope)
        found = stack.node.try_find_child(FLEET_ID)
        if isinstance(found, Fleet):
            return found
        return cls(stack, FLEET_ID, topology=topology)
