"""The API function's resource policy holds exactly the declared direct callers, nothing wider.

``tests.infra.conftest.CALLERS`` declares two roles (one in this stack's account, one in
another) and one account, with a function URL.
"""

from __future__ import annotations

from typing import Any

import pytest

from sluice.app import DirectCallers
from sluice.runtime import ConfigurationError
from tests.infra.conftest import CALLERS, Synth

pytestmark = pytest.mark.infra


def api_permissions(synth: Synth) -> list[dict[str, Any]]:
    api = synth.function_id(synth.function_name("api"))
    return [
        p["Properties"]
        for p in synth.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [api, "Arn"]}
    ]


def test_the_resource_policy_holds_exactly_the_declared_principals(synth: Synth) -> None:
    gateway = [p for p in api_permissions(synth) if p["Principal"] == "apigateway.amazonaws.com"]
    callers = [p for p in api_permissions(synth) if p not in gateway]
    # THEN the callers' statements are exactly the declared principals, each invoke and URL
    found = sorted(
        (p["Action"], p["Principal"], p.get("FunctionUrlAuthType", "-")) for p in callers
    )
    declared = sorted(CALLERS.principals)
    assert found == sorted(
        [("lambda:InvokeFunction", who, "-") for who in declared]
        + [("lambda:InvokeFunctionUrl", who, "AWS_IAM") for who in declared]
    )
    assert all(
        set(p) <= {"Action", "FunctionName", "Principal", "FunctionUrlAuthType"} for p in callers
    )
    # AND the only other principal is the gateway, each grant tied to this API's own ARN
    assert gateway and all(p["Action"] == "lambda:InvokeFunction" for p in gateway)
    assert all("SourceArn" in p for p in gateway)
    assert all("*" not in str(p["Principal"]) for p in api_permissions(synth))


def test_the_function_url_uses_iam_auth(synth: Synth) -> None:
    api = synth.function_id(synth.function_name("api"))
    [url] = synth.resources("AWS::Lambda::Url").values()
    assert url["Properties"]["AuthType"] == "AWS_IAM"
    assert url["Properties"]["TargetFunctionArn"] == {"Fn::GetAtt": [api, "Arn"]}
    outputs = synth.raw["Outputs"]
    assert any("FunctionUrl" in name for name in outputs)


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"roles": ("*",)}, "give an IAM role ARN without wildcards"),
        ({"roles": ("arn:aws:iam::123456789012:role/*",)}, "without wildcards"),
        ({"roles": ("arn:aws:iam::123456789012:user/bob",)}, "give an IAM role ARN"),
        ({"accounts": ("12345",)}, "an AWS account id is 12 digits"),
        ({"accounts": ("*",)}, "an AWS account id is 12 digits"),
    ],
)
def test_a_wildcard_or_malformed_caller_is_refused_at_declaration(
    given: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigurationError, match=says.replace("*", r"\*")):
        DirectCallers(**given)
