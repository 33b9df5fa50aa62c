"""Where a worker runs: its declaration, the app's per-stage override, and bad values."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app import APP as ORDERS
from sluice.container.health import HealthFile, main
from sluice.container.protection import ScaleInProtection
from sluice.runtime import ConfigurationError, Runtime, Source, worker
from sluice.runtime.worker import placed
from tests.container.workapp.app import APP
from tests.container.workapp.events import CATALOG


def test_a_worker_runs_on_lambda_unless_it_says_container() -> None:
    @worker(catalog=CATALOG, source=Source.SQS_QUEUE)
    def plain(event: object) -> None: ...

    assert plain.spec.runtime is Runtime.LAMBDA
    assert APP.registry.get("jobs").spec.runtime is Runtime.CONTAINER


def test_a_per_stage_override_moves_one_worker_and_leaves_the_rest() -> None:
    app = replace(APP, runtimes={"dev": {"jobs": "lambda"}, "*": {"ordered": "lambda"}})

    dev = {s.name: s.runtime for s in app.for_stage("dev").registry.specs}
    prod = {s.name: s.runtime for s in app.for_stage("prod").registry.specs}

    assert dev == {"jobs": Runtime.LAMBDA, "ordered": Runtime.LAMBDA}
    assert prod == {"jobs": Runtime.CONTAINER, "ordered": Runtime.LAMBDA}
    assert APP.for_stage("prod") is APP, "no override: the very same app"


def test_an_override_naming_no_worker_or_no_runtime_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match=r"not workers of the app.*jobs, ordered"):
        replace(APP, runtimes={"dev": {"jbos": "lambda"}}).for_stage("dev")
    with pytest.raises(ConfigurationError, match="use one of 'lambda', 'container'"):
        replace(APP, runtimes={"dev": {"jobs": "fargate"}}).for_stage("dev")


def test_container_declarations_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="stream worker runs on Lambda"):
        worker(catalog=CATALOG, source=Source.STREAM, table="t", runtime="container")(print)
    with pytest.raises(ConfigurationError, match="min_tasks <= max_tasks"):
        worker(catalog=CATALOG, runtime="container", min_tasks=3, max_tasks=2)(print)
    with pytest.raises(ConfigurationError, match="throughput"):
        worker(catalog=CATALOG, runtime="container", throughput=0)(print)


def test_protection_without_the_agent_variable_does_nothing() -> None:
    protection = ScaleInProtection.from_environment({})

    protection.update(True)
    protection.update(False)

    assert protection.url is None and protection.calls == 0 and not protection.protected


def test_the_health_check_fails_without_a_fresh_file(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "alive"
    assert main([str(path), "60"]) == 1
    HealthFile(path).beat()
    assert main([str(path), "60"]) == 0
    assert not HealthFile(path).fresh(-1)


def test_a_runtime_given_by_name_is_the_runtime_itself() -> None:
    for name, runtime in (("lambda", Runtime.LAMBDA), ("container", Runtime.CONTAINER)):

        @worker(catalog=CATALOG, source=Source.SQS_QUEUE, runtime=name)
        def named(event: object) -> None: ...

        assert named.spec.runtime is runtime
        assert named.spec.module == __name__, "the handler lives in the declaring module"


def test_a_worker_moved_to_another_runtime_keeps_its_catalog_and_function() -> None:
    declared = ORDERS.registry.get("inventory")  # subscribes: checked against its catalog
    moved = placed(declared, Runtime.CONTAINER)
    assert moved.spec.runtime is Runtime.CONTAINER
    assert (moved.catalog, moved.fn) == (declared.catalog, declared.fn)
    assert moved.spec.subscribes == declared.spec.subscribes
