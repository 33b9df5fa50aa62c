"""Every entry point refuses bad input with its exact error, and no data is lost or changed."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from sluice.cli import build
from tests.badinput.cases import CASES, ELSEWHERE, Case
from tests.conftest import Pipeline


def tables(pipeline: Pipeline) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table."""
    return {
        name: sorted(
            pipeline.clients.dynamodb.scan(TableName=name, ConsistentRead=True)["Items"], key=repr
        )
        for name in pipeline.topology.tables.values()
    }


@pytest.mark.parametrize("case", CASES, ids=[f"{c.entry.name}: {c.id}" for c in CASES])
def test_bad_input_gets_its_exact_error_and_nothing_is_lost(
    pipeline: Pipeline, case: Case, tmp_path: Path
) -> None:
    # GIVEN the bad input where it would really arrive
    prepared = case.entry.prepare(pipeline, case.given, tmp_path)
    before = tables(pipeline)
    # WHEN its entry point takes it
    seen = case.entry.run(pipeline, prepared)
    # THEN the error is exact, the input is still somewhere, and no table changed
    assert (seen.error, seen.where) == (case.error, case.where)
    assert tables(pipeline) == before


def test_the_matrix_covers_every_entry_point_and_names_the_cases_kept_elsewhere() -> None:
    entries = {case.entry.name for case in CASES}
    assert entries == {"api", "invoke", "queue", "relay", "publisher", "import", "cli"}
    assert entries == set(ELSEWHERE)
    assert len(CASES) >= 40
    assert len({(c.entry.name, c.id) for c in CASES}) == len(CASES)
    root = Path(__file__).parents[2]
    for node in (n for nodes in ELSEWHERE.values() for n in nodes):
        path, name = node.split("::")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, name, None)), f"{node} is gone: update ELSEWHERE"
        assert (root / path).is_file()


def test_every_sluice_command_has_a_bad_input_case_that_fails_in_one_line() -> None:
    commands = set(_paths(get_command(build())))
    cases = [c for c in CASES if c.entry.name == "cli"]
    covered = {
        p for p in commands for c in cases if list(c.given[1][: len(p.split())]) == p.split()
    }
    assert covered == commands, f"no bad-input case for: {sorted(commands - covered)}"
    for case in cases:
        assert "Traceback" not in case.error and "traceback" not in case.where, case.id
        assert case.where["exit"] != 0, case.id
        assert case.where["exit"] == 1 or "\n" not in case.error, f"{case.id}: one line"


def _paths(command: Any, prefix: str = "") -> Iterator[str]:
    """``dlq replay``, ``graph``...: every command a user can run, groups walked."""
    for name, sub in getattr(command, "commands", {}).items():
        path = f"{prefix} {name}".strip()
        if getattr(sub, "commands", None):
            yield from _paths(sub, path)
        else:
            yield path
