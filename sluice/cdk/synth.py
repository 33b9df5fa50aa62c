"""The CDK app: ``python -m infra.app`` or ``npx cdk synth`` (through cdk.json).

The prefix of every physical name comes from the context (``-c prefix=sluice-dev``);
the default, ``sluice``, is what the operator tools assume.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.stack import SluiceStack
from sluice.runtime import Registry, discover
from sluice.topology import DEFAULT_PREFIX, Topology

ROOT = Path(__file__).resolve().parent.parent
STACK = "Sluice"
PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,29}$")


def prefix_of(app: App) -> str:
    """The ``prefix`` context value, checked so every physical name stays valid."""
    prefix = app.node.try_get_context("prefix") or DEFAULT_PREFIX
    if not isinstance(prefix, str) or not PREFIX.match(prefix):
        raise ValueError(
            f"context prefix={prefix!r} must be 1-30 lowercase letters, digits or '-', "
            "starting with a letter (it begins every table, queue and topic name)"
        )
    return prefix


def build(app: App, registry: Registry | None = None) -> SluiceStack:
    """Add the ``Sluice`` stack for ``registry`` (default: the ``workers`` package) and nag."""
    prefix = prefix_of(app)
    topology = Topology(registry if registry is not None else discover(), prefix)
    stack = SluiceStack(
        app,
        STACK,
        stack_name=STACK if prefix == DEFAULT_PREFIX else f"{STACK}-{prefix}",
        description="Sluice: storage-first API, stream relay, SNS fan-out, SQS workers.",
        topology=topology,
        root=ROOT,
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> None:
    """Synthesize into ``cdk.out`` (or the directory the CDK CLI asks for)."""
    # The CDK CLI says where to write; run directly, write to ./cdk.out (not a temp dir).
    app = App(outdir=None if os.environ.get("CDK_OUTDIR") else str(ROOT / "cdk.out"))
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
