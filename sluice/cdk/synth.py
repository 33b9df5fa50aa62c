"""From an app declaration to a synthesized CDK app: what an app's ``infra/app.py`` calls.

``python -m infra.app`` and ``npx cdk synth`` (through cdk.json) both end in ``synth(APP)``.
The prefix of every physical name comes from the context (``-c prefix=acme-dev``); the
default is the app's own ``App.prefix``, which the operator tools assume. The stage
(``-c stage=dev``, default ``prod``) decides what outlives a ``cdk destroy``
(``sluice.cdk.stage``). An app with an API also gets the ``SluiceAccount`` prerequisite
stack (``sluice.cdk.account``), deployed once per account and region.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from aws_cdk import App as CdkApp
from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks

from sluice.app import App
from sluice.cdk.account import STACK_ID as ACCOUNT_STACK_ID
from sluice.cdk.account import AccountStack
from sluice.cdk.naming import stack_id, stack_name
from sluice.cdk.stack import SluiceStack
from sluice.cdk.stage import stage_of
from sluice.topology import Topology

PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,29}$")


def prefix_of(cdk_app: CdkApp, app: App) -> str:
    """The ``prefix`` context value (default: the app's), checked so every name stays valid."""
    prefix = cdk_app.node.try_get_context("prefix") or app.prefix
    if not isinstance(prefix, str) or not PREFIX.match(prefix):
        raise ValueError(
            f"context prefix={prefix!r} must be 1-30 lowercase letters, digits or '-', "
            "starting with a letter (it begins every table, queue and topic name)"
        )
    return prefix


def build(cdk_app: CdkApp, app: App) -> SluiceStack:
    """Add ``app``'s stack to ``cdk_app`` and check it with cdk-nag's AwsSolutions rules.

    The stack's id is the app's prefix in PascalCase (``Sluice`` for ``sluice``); its
    CloudFormation name adds the context prefix when that differs (``Sluice-sluice-dev``).
    """
    prefix = prefix_of(cdk_app, app)
    stage = stage_of(cdk_app)
    app = app.for_stage(stage.name)
    parts = ["tables", "events topic", f"{len(app.registry)} workers", "alarms"]
    if app.api is not None:
        parts.insert(0, "storage-first API")
    stack = SluiceStack(
        cdk_app,
        stack_id(app.prefix),
        stack_name=stack_name(app.prefix, prefix),
        description=f"Sluice app {app.name}: {', '.join(parts)}.",
        topology=Topology(app, prefix),
        stage=stage,
    )
    if app.api is not None and cdk_app.node.try_find_child(ACCOUNT_STACK_ID) is None:
        AccountStack(
            cdk_app,
            description="Sluice account prerequisite: API Gateway's CloudWatch logs role.",
        )
    Validations.of(cdk_app).add_plugins(AwsSolutionsChecks(cdk_app))
    return stack


def synth(app: App, outdir: str | Path | None = None) -> Path:
    """Synthesize ``app`` and return the cloud assembly's folder.

    It is written to ``outdir``, or to where the CDK CLI asks (``CDK_OUTDIR``), or else to
    ``cdk.out`` in the project (not a temp dir, so the result can be read and deployed).
    """
    if outdir is None and not os.environ.get("CDK_OUTDIR"):
        outdir = app.root / "cdk.out"
    cdk_app = CdkApp(outdir=None if outdir is None else str(outdir))
    build(cdk_app, app)
    return Path(cdk_app.synth().directory)
