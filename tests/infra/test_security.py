"""Least privilege, no stray wildcards, zero unacknowledged cdk-nag findings, clean cfn-lint."""

from __future__ import annotations

import pytest

from app import APP
from sluice.runtime import Runtime
from tests.infra.conftest import REGISTRY, TOPOLOGY, Synth
from tests.infra.expect import (
    assert_acknowledgments_narrow,
    assert_nag_clean,
    assert_no_stray_wildcards,
    expected_grants,
    grants,
    lint_findings,
)

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("name", [s.name for s in REGISTRY.specs if s.runtime is Runtime.LAMBDA])
def test_each_worker_role_holds_exactly_what_its_declaration_implies(
    synth: Synth, name: str
) -> None:
    spec = REGISTRY.get(name).spec
    assert grants(synth, f"sluice-{name}") == expected_grants(synth, spec)


def test_the_api_may_only_log_trace_and_get_put_update_orders(synth: Synth) -> None:
    orders = synth.logical_id("AWS::DynamoDB::Table", TableName=TOPOLOGY.table("orders"))
    logs = synth.logical_id("AWS::Logs::LogGroup", LogGroupName="/aws/lambda/sluice-api")
    found = grants(synth, "sluice-api")
    # No Scan, Query, DeleteItem, BatchWriteItem or stream reads: the code calls none.
    assert {(a, r) for a, r in found if a.startswith("dynamodb:")} == {
        (a, f"{orders}.Arn")
        for a in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
    }
    assert {r for a, r in found if a.startswith("logs:")} == {f"{logs}.Arn"}
    assert {a.split(":")[0] for a, _ in found} == {"dynamodb", "logs", "xray"}


def test_no_statement_grants_resource_star_unless_aws_requires_it(synth: Synth) -> None:
    assert_no_stray_wildcards(synth)


def test_cdk_nag_leaves_no_unacknowledged_finding(synth: Synth) -> None:
    assert_nag_clean(synth)


def test_every_acknowledgment_is_narrow_and_has_its_listed_reason(synth: Synth) -> None:
    assert_acknowledgments_narrow(synth, APP.api)


def test_cfn_lint_finds_nothing_but_w3005(synth: Synth) -> None:
    assert synth.template_path.name == "Sluice.template.json"
    assert lint_findings(synth) == []
