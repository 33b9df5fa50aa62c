"""Api: a REST API in front of the API function; IAM auth, throttling, access logs, validation.

Built only for an app that declares ``App.api``. The routes are the declaration's own
(``Api.routes``), the same ones the function serves, so the gateway and the function never
disagree; unknown paths are refused at the gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import CfnOutput, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

from sluice.app import Api as ApiDeclaration
from sluice.app import Route
from sluice.cdk import defaults, nag
from sluice.cdk.account import require_logs_role
from sluice.cdk.direct_calls import DirectCalls
from sluice.cdk.shared import Shared

PATH_PARAMETER = re.compile(r"<(\w+)>")
# The API's own problem document (RFC 9457), for bodies the gateway refuses.
INVALID_BODY = (
    '{"type": "urn:sluice:problem:invalid-request", "title": "Invalid request", '
    '"status": 400, "detail": $context.error.messageString}'
)


@dataclass(frozen=True, slots=True)
class GatewayRoute:
    """A declared route in API Gateway's terms: ``/items/<id>`` -> ``/items/{id}``, ``["id"]``."""

    method: str
    path: str
    parameters: tuple[str, ...]
    body: bool

    @classmethod
    def of(cls, route: Route) -> GatewayRoute:
        """The gateway form of one declared route."""
        return cls(
            method=route.method.upper(),
            path=PATH_PARAMETER.sub(r"{\1}", route.path),
            parameters=tuple(PATH_PARAMETER.findall(route.path)),
            body=route.body,
        )


def gateway_routes(api: ApiDeclaration) -> list[GatewayRoute]:
    """Every route of the declaration, in the gateway's form and order."""
    return [GatewayRoute.of(route) for route in api.routes]


class Api(Construct):
    """The storage-first HTTP front: requests signed with SigV4 reach the function.

    The function (``declaration.handler``) may do ``declaration.table_actions`` on exactly
    the declared ``tables``; its errors and throttles are alarmed like a worker's. Stage logging
    needs the account's API Gateway logs role, which this stack does not own: it checks
    for the ``SluiceAccount`` prerequisite instead (``sluice.cdk.account``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        declaration: ApiDeclaration,
        shared: Shared,
    ) -> None:
        super().__init__(scope, construct_id)
        name = shared.kit.function_name(declaration.name)
        self.function = shared.kit.build(
            self,
            name=declaration.name,
            handler=declaration.handler,
            memory_mb=defaults.API_MEMORY_MB,
            timeout=defaults.API_TIMEOUT,
            description=declaration.description,
        )
        for logical in declaration.tables:
            shared.store.table(logical).grant(self.function, *declaration.table_actions)
        shared.monitoring.watch_function(self.function, name)
        self.direct = DirectCalls(
            self, "DirectCalls", function=self.function, declaration=declaration.callers
        )
        access_log_group = f"/aws/apigateway/{name}/access"
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=access_log_group,
            retention=defaults.API_ACCESS_LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.rest = apigw.RestApi(
            self,
            "Rest",
            rest_api_name=name,
            description=f"{shared.topology.prefix} {shared.topology.app.name} API (IAM auth)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=False,
            default_method_options=apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.IAM
            ),
            deploy_options=apigw.StageOptions(
                stage_name=defaults.API_STAGE,
                throttling_rate_limit=defaults.API_RATE_LIMIT,
                throttling_burst_limit=defaults.API_BURST_LIMIT,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )
        # Referenced, so CloudFormation resolves it: no prerequisite, no deploy.
        CfnOutput(self, "AccountLogsRole", value=require_logs_role(self))
        self._routes(gateway_routes(declaration))
        shared.monitoring.watch_api(self.rest, name, access_log_group)
        nag.acknowledge(self.rest.deployment_stage, nag.NO_WAF)

    def _routes(self, routes: list[GatewayRoute]) -> None:
        """One method per route, each validated: path parameters always, bodies where sent."""
        integration = apigw.LambdaIntegration(self.function)
        validator = self.rest.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        body = self.rest.add_model(
            "JsonObject",
            content_type="application/json",
            description="A JSON object; the function checks it against the event contract.",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4,
                title="JsonObject",
                type=apigw.JsonSchemaType.OBJECT,
            ),
        )
        self.rest.add_gateway_response(
            "InvalidBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            response_headers={"Content-Type": "'application/problem+json'"},
            templates={"application/json": INVALID_BODY},
        )
        for route in routes:
            added = self.rest.root.resource_for_path(route.path).add_method(
                route.method,
                integration,
                request_validator=validator,
                request_models={"application/json": body} if route.body else None,
                request_parameters={
                    f"method.request.path.{param}": True for param in route.parameters
                },
            )
            nag.acknowledge(added, nag.NO_COGNITO)
