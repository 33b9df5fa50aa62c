"""The account prerequisite: API Gateway's CloudWatch logs role, one per account and region.

``AWS::ApiGateway::Account`` is an account-wide setting, not a resource of one app: an app
stack that set it would overwrite every other stack's, and deleting that stack would delete
the role while the setting kept pointing at it, so every REST API in the region would stop
logging without a word. So it lives in its own stack (``SluiceAccount``), deployed once per
account and region and retained on deletion; it publishes the role's ARN in an SSM
parameter, and an app stack with an API reads that parameter, so deploying the app before
the prerequisite fails at once, naming the parameter.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from sluice.cdk import nag

STACK_ID = "SluiceAccount"
ROLE_PARAMETER = "/sluice/account/apigateway-cloudwatch-role-arn"
"""Where the prerequisite publishes the role ARN, and where an app stack checks for it."""
PUSH_TO_LOGS = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


class AccountStack(Stack):
    """The retained, once-per-account-and-region stack holding API Gateway's logs role."""

    def __init__(self, scope: Construct, construct_id: str = STACK_ID, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway's account-wide role for writing CloudWatch logs.",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(PUSH_TO_LOGS)],
        )
        role.apply_removal_policy(RemovalPolicy.RETAIN)
        nag.acknowledge(role, nag.APIGW_LOGS_ROLE)
        setting = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        setting.apply_removal_policy(RemovalPolicy.RETAIN)
        parameter = ssm.StringParameter(
            self,
            "RoleArn",
            parameter_name=ROLE_PARAMETER,
            string_value=role.role_arn,
            description="Set by the SluiceAccount stack; Sluice app stacks with an API read it.",
        )
        parameter.apply_removal_policy(RemovalPolicy.RETAIN)
        CfnOutput(self, "ApiGatewayLogsRoleArn", value=role.role_arn)


def require_logs_role(scope: Construct) -> str:
    """A deploy-time read of the prerequisite's parameter: a missing one fails the deploy."""
    return ssm.StringParameter.value_for_string_parameter(scope, ROLE_PARAMETER)
