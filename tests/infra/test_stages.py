"""Dev and prod stages, and the account prerequisite: what a destroy leaves, what deploys need."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from sluice.cdk import build
from sluice.cdk.account import ROLE_PARAMETER
from tests.infra.conftest import TEST_APP, Synth

pytestmark = pytest.mark.infra

DATA = ("AWS::DynamoDB::Table", "AWS::S3::Bucket")


def synth_stage(outdir: Path, **context: str) -> dict[str, Any]:
    cdk_app = App(outdir=str(outdir), context=context)
    stack = build(cdk_app, TEST_APP)
    assembly = cdk_app.synth(validate_on_synthesis=False)
    template: dict[str, Any] = assembly.get_stack_by_name(stack.stack_name).template
    return template


def deletion(template: dict[str, Any], kind: str) -> set[str]:
    return {
        r.get("DeletionPolicy", "Delete")
        for r in template["Resources"].values()
        if r["Type"] == kind
    }


def test_prod_keeps_tables_and_failure_buckets(synth: Synth) -> None:
    # GIVEN the default stage (prod)
    for kind in DATA:
        assert deletion(synth.raw, kind) == {"Retain"}, kind
    # AND the failure buckets have no fixed name, so a retained one never blocks a redeploy
    for bucket in synth.resources("AWS::S3::Bucket").values():
        assert "BucketName" not in bucket["Properties"]


def test_dev_destroys_everything_so_the_prefix_deploys_again(tmp_path: Path) -> None:
    template = synth_stage(tmp_path, prefix="sluice-dev", stage="dev")
    retained = [
        k
        for k, r in template["Resources"].items()
        if r.get("DeletionPolicy") == "Retain" or r.get("UpdateReplacePolicy") == "Retain"
    ]
    assert retained == []
    names = {
        r["Properties"]["TableName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    assert "sluice-dev-orders" in names


def test_the_topics_key_is_never_orphaned(synth: Synth) -> None:
    (key,) = synth.resources("AWS::KMS::Key").values()
    assert key["DeletionPolicy"] == "Delete"
    assert key["Properties"]["PendingWindowInDays"] == 7


def test_an_unknown_stage_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="prod, dev"):
        build(App(outdir=str(tmp_path), context={"stage": "staging"}), TEST_APP)


def test_the_app_stack_never_sets_the_account_wide_api_gateway_role(synth: Synth) -> None:
    kinds = {r["Type"] for r in synth.raw["Resources"].values()}
    assert "AWS::ApiGateway::Account" not in kinds
    roles = [r["Properties"] for r in synth.resources("AWS::IAM::Role").values()]
    assert not [r for r in roles if "apigateway" in json.dumps(r["AssumeRolePolicyDocument"])]
    # AND it reads the prerequisite's parameter, so deploying without it fails at once
    parameters = synth.raw["Parameters"]
    (checked,) = [p for p in parameters.values() if p.get("Default") == ROLE_PARAMETER]
    assert checked["Type"] == "AWS::SSM::Parameter::Value<String>"


def test_the_account_stack_holds_the_setting_retained(synth: Synth) -> None:
    template = json.loads((synth.outdir / "SluiceAccount.template.json").read_text())
    resources = template["Resources"].values()
    kinds = {r["Type"]: r for r in resources}
    assert set(kinds) == {"AWS::IAM::Role", "AWS::ApiGateway::Account", "AWS::SSM::Parameter"}
    assert all(r["DeletionPolicy"] == "Retain" for r in resources)
    assert kinds["AWS::SSM::Parameter"]["Properties"]["Name"] == ROLE_PARAMETER


def test_the_deploy_guide_never_grants_kms_on_an_alias() -> None:
    # a grant on an alias ARN authorizes nothing on the key behind it
    deploy = (Path(__file__).resolve().parents[2] / "docs/guides/deploy.md").read_text()
    assert "on `alias/" not in deploy and "on the key's ARN" in deploy
    assert "SluiceAccount" in deploy and "stage=dev" in deploy and "cdk import" in deploy
