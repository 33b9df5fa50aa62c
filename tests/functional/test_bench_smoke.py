"""The runtime benchmarks run end to end and report well-formed rows (speed lives in bench/)."""

from __future__ import annotations

import math

import pytest

from bench import bench_runtime
from bench.__main__ import main, modules, run_module
from bench.harness import Row


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    """One quick run of every runtime benchmark (a moto server child, a few seconds)."""
    return bench_runtime.run(quick=True)


def test_every_foundation_benchmark_reports_a_row(rows: list[Row]) -> None:
    names = [r.name for r in rows]
    assert len(names) == len(set(names))
    for expected in ("IO-bound batch", "CPU-light record", "DynamoDB calls per", "Cold start"):
        assert any(n.startswith(expected) for n in names), (expected, names)


def test_rows_hold_finite_positive_medians_and_their_ratio(rows: list[Row]) -> None:
    for row in rows:
        assert row.peer is not None and row.peer_name, row
        if row.unit.endswith(" units"):  # reported side by side, judged by the cost row
            assert row.target == "" and row.met is None, row
            continue
        assert math.isfinite(row.sluice) and row.sluice > 0, row
        assert math.isfinite(row.peer) and row.peer > 0, row
        assert row.ratio is not None and row.ratio == pytest.approx(row.sluice / row.peer)
        if not row.target:  # shown for what it costs, judged by no target
            assert row.met is None, row
            continue
        assert row.target.startswith("ratio <= ")
        assert row.met is (row.ratio <= float(row.target.split()[-1]))
        assert row.runs >= 1 and row.spread.startswith("sluice ") and "; peer " in row.spread


def test_call_counts_are_whole_calls_per_batch(rows: list[Row]) -> None:
    counted = [r for r in rows if r.unit == "calls"]
    assert len(counted) == 3
    for row in counted:
        assert row.peer is not None
        for per_record in (row.sluice, row.peer):
            assert per_record * bench_runtime.BATCH == pytest.approx(
                round(per_record * bench_runtime.BATCH)
            )
        assert "Sluice " in row.note and "Powertools " in row.note


def test_a_failing_module_becomes_a_row_that_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(quick: bool) -> list[Row]:
        raise RuntimeError("the server would not start")

    monkeypatch.setattr(bench_runtime, "run", broken)
    result = run_module("runtime", quick=True)
    assert result.rows == []
    assert result.error == "RuntimeError: the server would not start"


def test_only_names_a_known_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert "runtime" in modules()
    with pytest.raises(SystemExit):
        main(["--only", "no-such-bench"])
    assert "no benchmark 'no-such-bench'" in capsys.readouterr().err


def test_capacity_rows_follow_dynamodb_pricing(rows: list[Row]) -> None:
    by_name = {r.name: r for r in rows}
    # new inventory record (transact_only, no copies lately: no claim, no precheck): one
    # TransactWriteItems of effect and completion (2 x 2); Powertools: PutItem claim (1), the
    # effect's transaction (2), UpdateItem completion (1)
    new = "new record, inventory worker"
    assert (
        by_name[f"DynamoDB write units per {new}"].sluice,
        by_name[f"DynamoDB write units per {new}"].peer,
    ) == (4, 4)
    assert f"DynamoDB read units per {new}" not in by_name  # neither side reads
    assert by_name[f"DynamoDB request cost per {new}"].ratio == pytest.approx(20 / 20)
    # copies arriving: the precheck finds them (a read unit each); Powertools' claim refused
    duplicate = by_name["DynamoDB request cost per duplicate, inventory worker"]
    assert (duplicate.sluice, duplicate.peer) == (1, 5)
    # the first copies after new records only: each one's refused transaction
    quiet = by_name["DynamoDB request cost per duplicate after a quiet spell, inventory worker"]
    assert (quiet.sluice, quiet.peer, quiet.target) == (20, 5, "")
    bare = by_name["DynamoDB request cost per new record, worker without a DynamoDB effect"]
    assert (bare.sluice, bare.peer) == (10, 10)


def test_the_rows_without_idempotency_also_face_powertools_concurrent_processor(
    rows: list[Row],
) -> None:
    concurrent = [r.name for r in rows if r.peer_name == bench_runtime.PEER_ASYNC]
    assert [n.split(",")[0].split(":")[0] for n in concurrent] == [
        "IO-bound batch",
        "CPU-light record",
    ]
    assert all("no idempotency" in n for n in concurrent)
