"""Public rule sets on the synthesized templates: every finding is fixed or skipped with a reason.

awslabs serverless-rules (cfn-lint-serverless) and checkov's CloudFormation checks, with
the skips of ``sluice/cdk/rule_skips.toml``: a skip names a rule, a resource type and
(optionally) which of those resources; a finding no skip covers fails the test, and so
does a skip nothing needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.infra.conftest import Synth

pytestmark = pytest.mark.infra

SKIPS = Path(__file__).resolve().parents[2] / "sluice" / "cdk" / "rule_skips.toml"
SERVERLESS_RULES = "cfn_lint_serverless.rules"  # cfn-lint loads it by module name
CHECKOV_FLAGS = ("--framework", "cloudformation", "-o", "json", "--quiet", "--skip-download")
Finding = tuple[str, str, str]
"""(tool, rule, logical id)"""


def skips() -> list[dict[str, str]]:
    return list(tomllib.loads(SKIPS.read_text())["skip"])


def serverless_rules(template: Path) -> list[Finding]:
    config = ManualArgs(regions=["eu-west-1"], append_rules=[SERVERLESS_RULES])
    matches = lint_file(template, config=config)
    return [
        ("serverless-rules", m.rule.id, str(m.path[1]))
        for m in matches
        if m.rule.id[1:2] == "S" and len(m.path) > 1
    ]


def checkov(template: Path) -> tuple[list[Finding], int]:
    """checkov's failed checks, and how many passed."""
    done = subprocess.run(
        [sys.executable, "-m", "checkov.main", "-f", str(template), *CHECKOV_FLAGS],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report = json.loads(done.stdout or "{}")
    report = report[0] if isinstance(report, list) else report
    if not report.get("results"):  # nothing failed: checkov prints only the summary
        return [], int(report.get("passed", report.get("summary", {}).get("passed", 0)))
    failed = [
        ("checkov", c["check_id"], c["resource"].split(".", 1)[1])
        for c in report["results"]["failed_checks"]
    ]
    return failed, int(report["summary"]["passed"])


def dead_letter_queues(raw: dict[str, Any]) -> set[str]:
    """Queues that are a redrive, subscription, S3-notification or schedule DLQ target."""
    text = json.dumps(
        [
            r["Properties"].get("RedrivePolicy")
            or r["Properties"].get("NotificationConfiguration")
            or r["Properties"].get("Target", {}).get("DeadLetterConfig")
            for r in raw["Resources"].values()
            if r["Type"]
            in (
                "AWS::SQS::Queue",
                "AWS::SNS::Subscription",
                "Custom::S3BucketNotifications",
                "AWS::Scheduler::Schedule",
            )
        ]
    )
    return {
        k
        for k, r in raw["Resources"].items()
        if r["Type"] == "AWS::SQS::Queue" and f'"{k}"' in text
    }


def selected(raw: dict[str, Any], logical: str, only: str | None) -> bool:
    resource = raw["Resources"][logical]
    props = resource.get("Properties", {})
    if only is None:
        return True
    if only == "dead-letter":
        return logical in dead_letter_queues(raw)
    if only == "sqs-source":
        source = props.get("EventSourceArn", {}).get("Fn::GetAtt", [""])[0]
        return bool(source) and raw["Resources"][source]["Type"] == "AWS::SQS::Queue"
    if only == "cdk-handler":
        return "FunctionName" not in props
    raise ValueError(f"unknown selector {only!r}")


def unexplained(synth: Synth, findings: list[Finding]) -> tuple[list[Finding], set[str]]:
    """Findings no skip covers, and the skips that covered something."""
    used: set[str] = set()
    left = []
    for tool, rule, logical in findings:
        kind = synth.raw["Resources"][logical]["Type"]
        for skip in skips():
            if (skip["tool"], skip["rule"], skip["type"]) == (tool, rule, kind) and selected(
                synth.raw, logical, skip.get("only")
            ):
                used.add(f"{tool}:{rule}")
                break
        else:
            left.append((tool, rule, logical))
    return left, used


def test_every_skip_has_a_reason_and_names_a_known_selector() -> None:
    for skip in skips():
        assert len(skip["reason"]) > 40, skip
        assert skip["tool"] in ("checkov", "serverless-rules")
        assert skip.get("only") in (None, "dead-letter", "sqs-source", "cdk-handler")


@pytest.fixture(scope="module")
def findings(synth: Synth) -> list[Finding]:
    found = serverless_rules(synth.template_path)
    failed, passed = checkov(synth.template_path)
    assert passed > 100, "checkov ran its CloudFormation checks"
    return found + failed


def test_serverless_rules_and_checkov_leave_nothing_unexplained(
    synth: Synth, findings: list[Finding]
) -> None:
    left, used = unexplained(synth, findings)
    assert left == []
    # every skip is needed by the reference app (the test workers include a stream reader)
    assert used == {f"{s['tool']}:{s['rule']}" for s in skips()}


def test_what_was_right_is_fixed(synth: Synth, findings: list[Finding]) -> None:
    ours = synth.functions()
    rules = {
        r
        for _, r, logical in findings
        if synth.raw["Resources"][logical]["Type"] != "AWS::Lambda::Function" or logical in ours
    }
    # tracing active on functions and the API stage
    assert not rules & {"WS1000", "WS2002", "CKV_AWS_73"}


def test_the_account_stack_has_no_finding(synth: Synth) -> None:
    account = synth.outdir / "SluiceAccount.template.json"
    assert serverless_rules(account) == []
    assert checkov(account)[0] == []
