"""One synth per session: the reference app plus the test-declared workers, nag included."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# jsii and CDK caches stay inside the project (as the Makefile sets them), before jsii starts.
os.environ.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(ROOT / ".cache" / "jsii"))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from app import APP  # noqa: E402
from sluice.app import App as SluiceApp  # noqa: E402
from sluice.app import DirectCallers  # noqa: E402
from sluice.cdk import build  # noqa: E402
from sluice.runtime import Registry  # noqa: E402
from sluice.topology import Topology  # noqa: E402
from tests.infra.extra_workers import EXTRA  # noqa: E402

CALLERS = DirectCallers(
    roles=(
        "arn:aws:iam::111122223333:role/billing-producer",  # this stack's account (policy.ACCOUNT)
        "arn:aws:iam::210987654321:role/batch-import",
    ),
    accounts=("333344445555",),
    function_url=True,
)
"""Internal callers of the API function, so the template and path tests see its policy."""
TEST_APP = replace(
    APP.with_workers(*EXTRA),
    api=replace(APP.api, callers=CALLERS) if APP.api is not None else None,
)
REGISTRY = TEST_APP.registry
TOPOLOGY = Topology(TEST_APP)


@dataclass
class Synth:
    """The synthesized app: its template (raw and as ``Template``) and the nag report."""

    registry: Registry
    topology: Topology
    outdir: Path
    stack_id: str
    stack_name: str
    raw: dict[str, Any]
    template: Template
    report: dict[str, Any]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        """Logical id -> resource, for every resource of ``kind``."""
        return {k: v for k, v in self.raw["Resources"].items() if v["Type"] == kind}

    def functions(self) -> dict[str, dict[str, Any]]:
        """The app's own functions (CDK's bucket-notifications handler is not one)."""
        return {
            k: v
            for k, v in self.resources("AWS::Lambda::Function").items()
            if "FunctionName" in v["Properties"]
        }

    def logical_id(self, kind: str, **properties: Any) -> str:
        """The one resource of ``kind`` whose properties include ``properties``."""
        found = [
            k
            for k, v in self.resources(kind).items()
            if all(v["Properties"].get(p) == value for p, value in properties.items())
        ]
        assert len(found) == 1, f"{kind} {properties}: found {found}"
        return found[0]

    def queue_id(self, name: str) -> str:
        """The logical id of the queue called ``name``."""
        return self.logical_id("AWS::SQS::Queue", QueueName=name)

    def function_id(self, name: str) -> str:
        """The logical id of the function called ``name``."""
        return self.logical_id("AWS::Lambda::Function", FunctionName=name)

    def function_name(self, name: str) -> str:
        """``inventory`` -> ``sluice-inventory``: a worker's (or the API's) function name."""
        return f"{self.topology.prefix}-{name}"

    @property
    def template_path(self) -> Path:
        """The stack's template file."""
        return self.outdir / f"{self.stack_id}.template.json"


def synthesize(app: SluiceApp, outdir: Path) -> Synth:
    """Synthesize ``app`` into ``outdir`` with nag; findings are in the report, not raised.

    cdk-nag findings fail ``synth()`` but the template and the report are written first,
    so the nag test shows the findings while the template tests still run.
    """
    cdk_app = App(outdir=str(outdir))
    stack = build(cdk_app, app)
    try:
        cdk_app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" not in str(exc):
            raise
    raw = json.loads((outdir / f"{stack.artifact_id}.template.json").read_text())
    report = json.loads((outdir / "validation-report.json").read_text())
    return Synth(
        app.registry,
        Topology(app),
        outdir,
        stack.artifact_id,
        stack.stack_name,
        raw,
        Template.from_json(raw),
        report,
    )


_FAILED: list[BaseException] = []


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Synthesize once; a failed synth fails every test at once instead of synthesizing again."""
    if _FAILED:
        pytest.fail(f"the session's synth failed: {_FAILED[0]}")
    try:
        return synthesize(TEST_APP, tmp_path_factory.mktemp("cdk.out"))
    except Exception as exc:
        _FAILED.append(exc)
        raise
