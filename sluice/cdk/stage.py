"""The stage a stack is deployed as: what survives a ``cdk destroy`` depends on it.

``-c stage=prod`` (the default) keeps the tables and the stream-failure buckets when the
stack is deleted: they hold business data and unreplayed failures. ``-c stage=dev`` deletes
them too, so a dev prefix can be destroyed and deployed again as often as needed (a retained
table keeps its fixed name, and the next deploy of the same prefix would fail on it).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App as CdkApp
from aws_cdk import RemovalPolicy


@dataclass(frozen=True, slots=True)
class Stage:
    """A stage's name and what it does with data on stack deletion."""

    name: str
    data_removal: RemovalPolicy

    @property
    def retains_data(self) -> bool:
        """True if tables and failure buckets outlive the stack."""
        return self.data_removal is RemovalPolicy.RETAIN


PROD = Stage("prod", RemovalPolicy.RETAIN)
DEV = Stage("dev", RemovalPolicy.DESTROY)
STAGES = {stage.name: stage for stage in (PROD, DEV)}


def stage_of(cdk_app: CdkApp) -> Stage:
    """The ``stage`` context value (default ``prod``), or an error naming the stages."""
    name = cdk_app.node.try_get_context("stage") or PROD.name
    if name not in STAGES:
        raise ValueError(f"context stage={name!r} must be one of: {', '.join(STAGES)}")
    return STAGES[name]
