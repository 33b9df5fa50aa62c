"""One way to build a function: own role, own log group, shared code and layer, on arm64.

Every function's role starts empty and gets only what ``grant_*`` adds: writing its own
log group and its X-Ray traces here, then what its worker declares (``Shared.grant``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from sluice.cdk import defaults, nag
from sluice.runtime import WorkerSpec
from sluice.runtime.telemetry import TRACING_ENV


@dataclass(frozen=True)
class FunctionKit:
    """What every function shares: the code asset, the layer, the environment, the prefix."""

    code: lambda_.Code
    layer: lambda_.ILayerVersion
    environment: Mapping[str, str]
    prefix: str
    tracing: bool = False
    """A subsegment per record (``SLUICE_TRACING``): the X-Ray SDK is imported then."""

    def function_name(self, name: str) -> str:
        """``inventory`` -> ``sluice-inventory`` (also the log group's last part)."""
        return f"{self.prefix}-{name}"

    def build(
        self,
        scope: Construct,
        *,
        name: str,
        handler: str,
        memory_mb: int,
        timeout: Duration,
        description: str,
    ) -> lambda_.Function:
        """A function in ``scope`` with its own empty role and its own log group."""
        function_name = self.function_name(name)
        role = iam.Role(
            scope,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs {function_name}; holds only what its grants add.",
        )
        log_group = logs.LogGroup(
            scope,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=defaults.LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            scope,
            "Function",
            function_name=function_name,
            description=description or function_name,
            runtime=defaults.RUNTIME,
            architecture=defaults.ARCHITECTURE,
            handler=handler,
            code=self.code,
            layers=[self.layer],
            role=role,
            memory_size=memory_mb,
            timeout=timeout,
            log_group=log_group,
            # Active tracing costs no cold start (Lambda records the invocation segment); the
            # SDK, and its ~140 ms import, comes in only with per-record subsegments.
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                **self.environment,
                **({TRACING_ENV: "true"} if self.tracing else {}),
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": defaults.METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": defaults.LOG_LEVEL,
            },
        )
        nag.acknowledge(function, nag.RUNTIME)
        nag.acknowledge(role, nag.WILDCARD_REQUIRED)  # X-Ray's writes take no resource
        return function

    def worker(self, scope: Construct, spec: WorkerSpec) -> lambda_.Function:
        """A worker's function: handler, memory and timeout from its declaration."""
        return self.build(
            scope,
            name=spec.name,
            handler=spec.handler_path,
            memory_mb=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            description=spec.description,
        )


def batching_window(spec: WorkerSpec) -> Duration | None:
    """How long an event source gathers records before invoking (None: it does not wait)."""
    return Duration.seconds(spec.batching_window_s) if spec.batching_window_s else None
