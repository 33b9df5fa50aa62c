"""DirectCalls: the API function's resource policy for its internal callers, and its URL.

Each principal the declaration names (``Api.callers``) gets ``lambda:InvokeFunction`` on
the API function and nothing else: a role ARN is that role alone; an account id is that
account's root, which delegates to the account's own IAM. There is never a wildcard.

The caller's account is pinned by the principal itself. Lambda's resource policy takes no
``aws:PrincipalAccount`` condition, and ``SourceAccount`` (``AWS:SourceAccount``) is set
only when a service calls on a resource's behalf: on a role's own call the key is absent,
so a ``StringEquals`` on it would refuse every direct caller. The path test
(``sluice.cdk.paths.Paths.direct_callers``) checks both: the declared callers are allowed,
the same role name in another account and undeclared roles are refused.

With ``function_url=True`` the function also gets a URL with ``AWS_IAM`` auth, and the same
principals get ``lambda:InvokeFunctionUrl`` (conditioned on that auth type).
"""

from __future__ import annotations

import re

from aws_cdk import CfnOutput
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from sluice.app import DirectCallers as Declaration

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def principal(caller: str) -> iam.IPrincipal:
    """A role ARN as itself, a 12-digit account id as that account's root."""
    return iam.AccountPrincipal(caller) if caller.isdigit() else iam.ArnPrincipal(caller)


class DirectCalls(Construct):
    """Grants each declared caller Lambda Invoke on ``function`` (and its URL, if asked)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        declaration: Declaration,
    ) -> None:
        super().__init__(scope, construct_id)
        self.url: lambda_.FunctionUrl | None = None
        for caller in declaration.principals:
            function.add_permission(
                f"Invoke{_logical(caller)}",
                principal=principal(caller),
                action="lambda:InvokeFunction",
                scope=self,
            )
        if not declaration.function_url:
            return
        self.url = function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        for caller in declaration.principals:
            function.add_permission(
                f"InvokeUrl{_logical(caller)}",
                principal=principal(caller),
                action="lambda:InvokeFunctionUrl",
                function_url_auth_type=lambda_.FunctionUrlAuthType.AWS_IAM,
                scope=self,
            )
        CfnOutput(self, "FunctionUrl", value=self.url.url, description="AWS_IAM auth")


def _logical(caller: str) -> str:
    """A construct id from a principal: the account id, and the role name if a role."""
    if caller.isdigit():
        return caller
    return _NOT_ALNUM.sub("", caller.split(":")[4] + caller.rsplit("/", 1)[-1])[:64]
