"""Any app, not only the reference one: a small app with no API synthesizes cleanly.

The app (``tests/infra/shop``) has what ``sluice new`` lays out: one table with a stream,
one SNS-fed worker and one worker reading the stream. Its template must hold every resource
its declaration implies, each role exactly its grants, and pass cdk-nag and cfn-lint.
"""

from __future__ import annotations

from typing import Any

import pytest

from sluice.cdk.bundling import shipped_files
from sluice.cdk.naming import stack_id, stack_name
from sluice.runtime import Source
from sluice.topology import DlqKind
from tests.infra.conftest import Synth, synthesize
from tests.infra.expect import (
    assert_acknowledgments_narrow,
    assert_nag_clean,
    assert_no_stray_wildcards,
    expected_grants,
    failure_bucket_id,
    grants,
    lint_findings,
)
from tests.infra.shop.app import SHOP

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(SHOP, tmp_path_factory.mktemp("shop.out"))


def arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def test_the_stack_is_named_after_the_apps_prefix(shop: Synth) -> None:
    assert (shop.stack_id, shop.stack_name) == ("Shop", "Shop")
    assert shop.template_path.is_file()


def test_another_context_prefix_names_another_stack() -> None:
    assert stack_id("sluice") == "Sluice" and stack_name("sluice", "sluice") == "Sluice"
    assert stack_name("sluice", "sluice-dev") == "Sluice-sluice-dev"
    assert stack_id("acme-shop") == "AcmeShop" and stack_id("acme_shop2") == "AcmeShop2"


def test_it_has_its_workers_tables_and_no_api(shop: Synth) -> None:
    # GIVEN an app whose declaration has no API
    assert SHOP.api is None
    # THEN the stack has a function per worker and nothing of an API
    names = {f["Properties"]["FunctionName"] for f in shop.functions().values()}
    assert names == {"shop-notify", "shop-checkouts"}
    kinds = {r["Type"] for r in shop.raw["Resources"].values()}
    assert not {k for k in kinds if k.startswith("AWS::ApiGateway::")}
    assert not [
        g
        for g in shop.resources("AWS::Logs::LogGroup").values()
        if "apigateway" in g["Properties"]["LogGroupName"]
    ]
    # AND the declared table (streamed) and the framework's idempotency table (TTL)
    tables = {
        t["Properties"]["TableName"]: t["Properties"]
        for t in shop.resources("AWS::DynamoDB::Table").values()
    }
    assert set(tables) == {"shop-carts", "shop-idempotency"}
    assert tables["shop-carts"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert "TimeToLiveSpecification" not in tables["shop-carts"]
    assert tables["shop-carts"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert "StreamSpecification" not in tables["shop-idempotency"]
    assert tables["shop-idempotency"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }


def test_the_sns_worker_gets_queue_dlq_and_subscription_dlq(shop: Synth) -> None:
    spec = shop.registry.get("notify").spec
    names = shop.topology.queues(spec)
    assert (names.queue, names.dlq, names.subscription_dlq) == (
        "shop-notify",
        "shop-notify-dlq",
        "shop-notify-sub-dlq",
    )
    queue = shop.resources("AWS::SQS::Queue")[shop.queue_id("shop-notify")]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": arn(shop.queue_id("shop-notify-dlq")),
        "maxReceiveCount": spec.max_receive_count,
    }
    (subscription,) = [
        s["Properties"]
        for s in shop.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Endpoint"] == arn(shop.queue_id("shop-notify"))
    ]
    assert subscription["TopicArn"] == {
        "Ref": shop.logical_id("AWS::SNS::Topic", TopicName="shop-events")
    }
    assert subscription["FilterPolicy"] == {"event_type": ["cart.checked_out"]}
    assert subscription["RedrivePolicy"] == {
        "deadLetterTargetArn": arn(shop.queue_id("shop-notify-sub-dlq"))
    }
    shop.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": arn(shop.queue_id("shop-notify")),
            "FunctionName": {"Ref": shop.function_id("shop-notify")},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_the_stream_worker_reads_the_tables_stream_with_a_failure_queue(shop: Synth) -> None:
    table = shop.logical_id("AWS::DynamoDB::Table", TableName="shop-carts")
    shop.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [table, "StreamArn"]},
            "FunctionName": {"Ref": shop.function_id("shop-checkouts")},
            "BisectBatchOnFunctionError": True,
            "DestinationConfig": {
                "OnFailure": {
                    "Destination": arn(failure_bucket_id(shop, shop.registry.get("checkouts").spec))
                }
            },
        },
    )


def test_every_dlq_and_function_has_its_alarms_naming_the_apps_commands(shop: Synth) -> None:
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in shop.resources("AWS::CloudWatch::Alarm").values()
    }
    dlqs = shop.topology.dlqs()
    assert {d.kind for d in dlqs} == set(DlqKind)
    expected = {d.name for d in dlqs} | {f"{d.name}-age" for d in dlqs}
    for function in ("shop-notify", "shop-checkouts"):
        expected |= {f"{function}-errors", f"{function}-throttles"}
    expected |= {"shop-notify-queue-age", "shop-checkouts-iterator-age"}
    assert set(alarms) == expected
    topic = shop.logical_id("AWS::SNS::Topic", TopicName="shop-alarms")
    for dlq in dlqs:
        # The app's own prefix is what the tools assume: no --prefix to pass.
        assert alarms[dlq.name]["AlarmDescription"].endswith(
            f"First run: sluice dlq show {dlq.name}"
        )
    assert all(a["AlarmActions"] == [{"Ref": topic}] for a in alarms.values())


@pytest.mark.parametrize("name", ["notify", "checkouts"])
def test_each_role_holds_exactly_what_its_declaration_implies(shop: Synth, name: str) -> None:
    spec = shop.registry.get(name).spec
    assert spec.source is (Source.STREAM if name == "checkouts" else Source.SNS_QUEUE)
    assert grants(shop, f"shop-{name}") == expected_grants(shop, spec)


def test_the_code_asset_holds_the_apps_code_and_the_runtime_only(shop: Synth) -> None:
    functions = shop.functions().values()
    (key,) = {f["Properties"]["Code"]["S3Key"] for f in functions}
    code = shop.outdir / f"asset.{key.removesuffix('.zip')}"
    files = {str(p.relative_to(code)) for p in code.rglob("*") if p.is_file()}
    assert files == {str(p) for p in shipped_files(SHOP)}
    assert {f.split("/")[0] for f in files} == {"tests", "sluice"}
    assert {f.split("/")[1] for f in files if f.startswith("sluice/")} == {
        "__init__.py",
        "core",
        "publisher",
        "runtime",
        "sessions.py",
    }
    for function in functions:
        module = function["Properties"]["Handler"].rsplit(".", 1)[0].replace(".", "/")
        assert f"{module}.py" in files


def test_no_stray_wildcards_no_nag_finding_and_clean_lint(shop: Synth) -> None:
    assert_no_stray_wildcards(shop)
    assert_nag_clean(shop)
    assert_acknowledgments_narrow(shop, None)
    assert lint_findings(shop) == []
