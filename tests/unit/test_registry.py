"""Declarations fail fast with a sentence that says how to fix them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import APP
from events import CATALOG, ORDER_PLACED, PAYMENT_CAPTURED
from sluice.runtime import ConfigurationError, Registry, Source, worker
from sluice.runtime.registry import discover
from sluice.topology import DlqKind, Topology


def _noop(event: object) -> None:
    """A worker function that does nothing."""


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"subscribes": ["order.shipped"]}, "which the catalog does not know"),
        ({"subscribes": []}, "subscribes=[] delivers nothing"),
        ({"batch_size": 11}, "batch_size > 10 needs batching_window_s >= 1"),
        ({"source": Source.FIFO_QUEUE, "group_by": "x", "batch_size": 20}, "batch_size must be"),
        ({"source": Source.FIFO_QUEUE}, "FIFO workers name the `group_by`"),
        ({"source": Source.STREAM}, "stream workers, and only they, name a `table`"),
        ({"table": "orders"}, "stream workers, and only they, name a `table`"),
        ({"timeout_s": 901}, "timeout_s must be 1..900"),
        ({"memory_mb": 64}, "memory_mb must be 128..10240"),
        ({"max_invocations": 1}, "max_invocations >= 2"),
        ({"timeout_margin_s": 30}, "timeout_margin_s must be below timeout_s"),
        (
            {"source": Source.FIFO_QUEUE, "group_by": "x", "batching_window_s": 1},
            "no batching window on FIFO",
        ),
    ],
)
def test_bad_declarations_fail_fast(settings: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        worker(catalog=CATALOG, **settings)(_noop)  # type: ignore[arg-type]
    assert fragment in str(caught.value)
    assert "'_noop'" in str(caught.value)


def test_a_worker_name_leaves_room_for_any_prefix_in_a_function_name() -> None:
    # GIVEN the longest prefix synth accepts (30) and the 64 characters of a function name
    worker(catalog=CATALOG, name="w" * 33)(_noop)
    with pytest.raises(ConfigurationError, match="fits a Lambda function name"):
        worker(catalog=CATALOG, name="w" * 34)(_noop)


def test_discover_finds_every_example_worker_with_its_handler_path() -> None:
    registry = APP.registry
    assert {s.name: s.handler_path for s in registry.specs if s.name != "relay"} == {
        "audit": "workers.audit.handler",
        "inventory": "workers.inventory.handler",
        "ledger": "workers.ledger.handler",
        "stocktake": "workers.stocktake.handler",
        "receipts": "workers.receipts.handler",
    }
    assert {s.name for s in registry.subscribers(ORDER_PLACED)} == {
        "audit",
        "inventory",
        "receipts",
    }
    assert registry.get("ledger").spec.source is Source.FIFO_QUEUE


def test_unknown_worker_lookup_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="no worker named 'nope'; workers: audit"):
        APP.registry.get("nope")


def test_two_workers_with_one_name_are_refused() -> None:
    one = worker(catalog=CATALOG, name="twin")(_noop)
    with pytest.raises(ConfigurationError, match="two workers are named 'twin'"):
        Registry([one, worker(catalog=CATALOG, name="twin")(_noop)])


def test_topology_names_every_queue_and_dlq_from_the_registry() -> None:
    extra = worker(catalog=CATALOG, name="billing", subscribes=[PAYMENT_CAPTURED])(_noop)
    topology = Topology(APP.with_workers(extra), prefix="dev")
    billing = topology.queues(extra.spec)
    assert (billing.queue, billing.dlq, billing.subscription_dlq) == (
        "dev-billing",
        "dev-billing-dlq",
        "dev-billing-sub-dlq",
    )
    ledger = topology.queues(topology.registry.get("ledger").spec)
    assert (ledger.queue, ledger.dlq, ledger.subscription_dlq) == (
        "dev-ledger.fifo",
        "dev-ledger-dlq.fifo",
        None,
    )
    assert topology.filter_policy(extra.spec) == {"event_type": [PAYMENT_CAPTURED]}
    assert topology.filter_policy(topology.registry.get("audit").spec) is None
    assert topology.dlq("billing").kind is DlqKind.QUEUE
    assert topology.dlq("dev-billing-sub-dlq").kind is DlqKind.SUBSCRIPTION
    with pytest.raises(LookupError, match="no DLQ named 'zzz'; the DLQs are: dev-audit-dlq"):
        topology.dlq("zzz")


def _worker_module(name: str, handler: str | None) -> str:
    text = (
        "from events import CATALOG\n"
        "from sluice.runtime import worker\n\n\n"
        f"@worker(catalog=CATALOG, name={name!r})\n"
        f"def {name}(event: object) -> None: ...\n"
    )
    return text + (f"\n\nhandler = {handler}\n" if handler else "")


def _package(root: Path, modules: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A package of these modules under ``root``, importable for this test only."""
    name = f"discovered_{root.name}"
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("")
    for module, text in modules.items():
        (root / name / f"{module}.py").write_text(text)
    monkeypatch.syspath_prepend(str(root))
    return name


def test_discover_takes_every_public_module_in_name_order_and_skips_private_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _package(
        tmp_path,
        {
            "b_second": _worker_module("second", "second.handler"),
            "_shared": _worker_module("hidden", None),  # would fail discovery if it were read
            "a_first": _worker_module("first", "first.handler"),
        },
        monkeypatch,
    )
    assert [s.name for s in discover(package).specs] == ["first", "second"]


@pytest.mark.parametrize("handler", [None, "lambda event, context: None"])
def test_a_worker_module_without_its_handler_is_refused_naming_the_path_lambda_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handler: str | None
) -> None:
    package = _package(tmp_path, {"lonely": _worker_module("lonely", handler)}, monkeypatch)
    with pytest.raises(ConfigurationError) as refused:
        discover(package)
    assert str(refused.value) == (
        f"{package}.lonely declares worker 'lonely' but has no `handler = lonely.handler`; "
        f"Lambda points at {package}.lonely.handler"
    )
