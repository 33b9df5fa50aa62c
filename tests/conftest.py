"""Shared fixtures: a fake AWS environment, in-process moto, and a provisioned pipeline."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from app import APP
from sluice.runtime import Clients, Registry
from sluice.testing import LocalAws
from tests.factories import ACCOUNT, REGION

FAKE_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "MOTO_ACCOUNT_ID": ACCOUNT,
}


# Under pytest-xdist (`make test` runs TEST_JOBS workers with --dist loadgroup), each file runs
# whole on one worker, so its module fixtures are paid once. The infra tier stays whole: its
# session fixture (a CDK synth) is then paid once, not once per worker.
WHOLE_TIERS = ("infra",)
# The order groups are handed out: the long ones first (files marked `slow`, then these
# tiers), so they start at once and the many short ones fill the other workers around them
# (make test passes --no-loadscope-reorder).
TIER_ORDER = ("infra", "scaffold", "chaos", "container", "sandbox", "badinput", "functional")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group each test by its file, or by its tier where the tier shares a session fixture."""
    for item in items:
        tier = _tier(item)
        group = tier if tier in WHOLE_TIERS else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
    if "MUTANT_UNDER_TEST" in os.environ:
        # mutmut gives a mutant's tests fastest first and stops at the first failure: the
        # long-first order below would run its slow functional tests before a unit test
        # that kills the mutant in milliseconds (and time it out on a loaded machine)
        return
    items.sort(key=_run_order)


def _tier(item: pytest.Item) -> str:
    """``functional`` for ``tests/functional/test_x.py::test_y``; "" for a top-level file."""
    parts = item.nodeid.split("/")
    return parts[1] if len(parts) > 2 else ""


def _run_order(item: pytest.Item) -> tuple[bool, int]:
    tier = _tier(item)
    rank = TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER)
    return item.get_closest_marker("slow") is None, rank


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever reaches real AWS: fake credentials, a fixed region, no IMDS."""
    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(autouse=True)
def no_copies_seen() -> None:
    """Each test starts as a new process does: no worker has seen copies, so none prechecks
    until copies arrive (``sluice.runtime.engine.prechecks``)."""
    from sluice.runtime.engine.prechecks import forget

    forget()


@pytest.fixture
def moto() -> Iterator[None]:
    """In-process moto for the functional tier, taking requests one at a time like the sandbox."""
    from sluice.local.inprocess import serialized_mock_aws

    with serialized_mock_aws():
        yield


_FRESH_QUEUES = itertools.count()


class Pipeline(LocalAws):
    """The reference app provisioned in moto, with the orders app's own lookups."""

    @property
    def registry(self) -> Registry:
        """The app's workers."""
        return self.app.registry

    def url(self, name: str) -> str:
        """A queue URL by physical name."""
        return self.queue_url(name)

    def fresh_queue(self, like: str, prefix: str) -> str:
        """A new queue of a test's own, dead-lettering as ``like`` does (default 30 s
        visibility), named ``<prefix>-<n>``."""
        sqs = self.clients.sqs
        policy = sqs.get_queue_attributes(
            QueueUrl=self.url(like), AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        name = f"{prefix}-{next(_FRESH_QUEUES)}"
        return str(sqs.create_queue(QueueName=name, Attributes=policy)["QueueUrl"])

    def stock(self, sku: str) -> dict[str, int]:
        """The stock counters of one SKU."""
        item = self.clients.dynamodb.get_item(
            TableName=self.topology.table("state"),
            Key={"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "STOCK"}},
        ).get("Item", {})
        return {k: int(v["N"]) for k, v in item.items() if "N" in v}


@pytest.fixture
def pipeline(moto: None) -> Pipeline:
    """Every table, topic, queue and subscription of the app, in in-process moto."""
    return Pipeline.provision(APP, Clients())


def needs_tool(missing: bool, reason: str) -> pytest.MarkDecorator:
    """Mark a test that needs a tool: skipped where it is missing on a developer's machine,
    failed where it is missing in CI (``CI=true``), so a broken install never goes green."""
    return pytest.mark.needs_tool(missing=missing, reason=reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply ``needs_tool`` marks."""
    for mark in item.iter_markers("needs_tool"):
        if not mark.kwargs["missing"]:
            continue
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must have this tool: {mark.kwargs['reason']}", pytrace=False)
        pytest.skip(mark.kwargs["reason"])
