"""The mutation survivor ledger: every survivor explained, or ``--check`` fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import mutation, mutation_ledger
from bench.mutation_ledger import Entry, LedgerError

QUEUES = "sluice.runtime.queues.x_backoff_s__mutmut_"
RUNNER = "sluice.container.runner.xǁRunnerǁ_drain__mutmut_"


def _meta(root: Path, module: str, codes: dict[str, int | None]) -> None:
    """A mutmut ``.meta`` file as mutmut 3 writes it (exit codes: 0 survived, 1 killed)."""
    path = root / f"{module}.meta"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"exit_code_by_key": codes, "hash_by_function_name": {}}))


def _ledger(path: Path, entries: dict[str, tuple[str, str]]) -> Path:
    lines = ["[survivors]"]
    lines += [
        f'"{name}" = {{ category = "{category}", reason = "{reason}" }}'
        for name, (category, reason) in entries.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run of two modules: queues with survivors 1 and 3 (2 killed, 4 not checked), the
    runner with survivor 7; and a copy of ``bench/`` whose saved verdicts must not count."""
    root = tmp_path / "mutants"
    _meta(
        root,
        "sluice/runtime/queues.py",
        {f"{QUEUES}1": 0, f"{QUEUES}2": 1, f"{QUEUES}3": 0, f"{QUEUES}4": None},
    )
    _meta(root, "sluice/container/runner.py", {f"{RUNNER}7": 0, f"{RUNNER}8": 1})
    _meta(root, "bench/mutation_state/sluice/runtime/queues.py", {f"{QUEUES}9": 0})
    return root


def test_a_survivor_missing_from_the_ledger_is_listed_and_fails_the_check(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a ledger that explains two of the three survivors
    ledger = _ledger(
        tmp_path / "ledger.toml",
        {f"{QUEUES}1": ("equivalent", "a bound never met"), f"{RUNNER}7": ("gap", "test_x")},
    )
    # WHEN the report runs with --check, THEN it fails and names the one unexplained
    assert mutation.report(run, ledger, check=True) == 1
    out = capsys.readouterr().out
    assert f"1 unexplained (`.venv/bin/mutmut show NAME` prints each):\n- {QUEUES}3\n" in out
    assert "| sluice/runtime/queues.py | 2 | 1 | 0 | 1 |" in out
    assert "| sluice/container/runner.py | 1 | 0 | 1 | 0 |" in out
    assert "| **all** | 3 | 1 | 1 | 1 |" in out
    assert f"{QUEUES}9" not in out, "the copy of bench/ in mutants/ is not a module"
    # AND without --check the same report exits 0
    assert mutation.report(run, ledger) == 0


def test_a_ledger_explaining_every_survivor_passes_and_reports_stale_entries(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a ledger with every survivor, an entry for a mutant since killed, and one for a
    # mutant that no longer exists
    ledger = _ledger(
        tmp_path / "ledger.toml",
        {
            f"{QUEUES}1": ("equivalent", "a bound never met"),
            f"{QUEUES}3": ("gap", "test_y would kill it"),
            f"{RUNNER}7": ("gap", "test_x"),
            f"{QUEUES}2": ("gap", "killed since"),
            f"{RUNNER}99": ("equivalent", "the function changed"),
        },
    )
    # WHEN checked, THEN it passes, and the two stale entries are named with their verdict
    assert mutation.report(run, ledger, check=True) == 0
    out = capsys.readouterr().out
    assert "unexplained (" not in out
    assert (
        "2 stale entries (no longer survivors; remove them):\n"
        f"- {RUNNER}99: gone\n- {QUEUES}2: killed\n"
    ) in out


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ('{ category = "harmless", reason = "x" }', "category must be one of equivalent, gap"),
        ('{ category = "gap", reason = " " }', "the reason is empty"),
        ('{ category = "gap" }', "the reason is empty"),
        ('{ category = "gap", reason = "x", killer = "y" }', "only category and reason"),
        ('"gap"', "expected { category = ..., reason = ... }"),
    ],
)
def test_a_malformed_entry_is_an_error_naming_the_mutant(
    tmp_path: Path, entry: str, error: str
) -> None:
    path = tmp_path / "ledger.toml"
    path.write_text(f'[survivors]\n"{QUEUES}1" = {entry}\n', encoding="utf-8")
    with pytest.raises(LedgerError, match=re.escape(f"{QUEUES}1: ") + ".*" + re.escape(error)):
        mutation_ledger.load(path)


def test_a_malformed_ledger_fails_the_report_with_a_one_line_error(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ledger.toml"
    path.write_text("[survivors\n", encoding="utf-8")
    assert mutation.report(run, path) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and err.count("\n") == 1


def test_no_ledger_file_leaves_every_survivor_unexplained(run: Path, tmp_path: Path) -> None:
    assert mutation_ledger.load(tmp_path / "absent.toml") == {}
    found = mutation_ledger.audit(mutation.read_verdicts(run), {})
    assert found.unexplained == [f"{RUNNER}7", f"{QUEUES}1", f"{QUEUES}3"]
    assert found.total["survived"] == found.total["unexplained"] == 3


def test_the_audit_counts_each_category_per_module() -> None:
    verdicts = {"a.py": {"a1": "survived", "a2": "survived", "a3": "killed"}, "b.py": {}}
    ledger = {"a1": Entry("equivalent", "r"), "a2": Entry("gap", "t"), "a3": Entry("gap", "t")}
    found = mutation_ledger.audit(verdicts, ledger)
    assert dict(found.counts["a.py"]) == {"survived": 2, "equivalent": 1, "gap": 1}
    assert found.stale == {"a3": "killed"}
    assert mutation_ledger.table(found)[2:] == [
        "| a.py | 2 | 1 | 1 | 0 |",
        "| **all** | 2 | 1 | 1 | 0 |",
    ]


def test_no_run_to_report_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mutation.report(tmp_path, tmp_path / "ledger.toml", check=True) == 1
    assert capsys.readouterr().err == f"no mutmut results in {tmp_path}: run `make mutate` first\n"


def test_the_committed_ledger_is_well_formed() -> None:
    entries = mutation_ledger.load()
    assert entries, "bench/mutation_survivors.toml holds the survivors of the last run"
    assert all(name.startswith("sluice.") and "__mutmut_" in name for name in entries)


def test_merge_takes_another_runs_verdicts_only_for_unchanged_functions(tmp_path: Path) -> None:
    # GIVEN this run, where mutants 1-3 of one function survived or were not checked and a
    # second function has changed since, and another worktree's run with new tests
    def meta(root: Path, codes: dict[str, int | None], digest: str) -> None:
        path = root / "sluice/runtime/queues.py.meta"
        path.parent.mkdir(parents=True, exist_ok=True)
        hashes = {"x_backoff_s": "same", "x_other": digest}
        path.write_text(json.dumps({"exit_code_by_key": codes, "hash_by_function_name": hashes}))

    other = "sluice.runtime.queues.x_other__mutmut_"
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    meta(ours, {f"{QUEUES}1": 0, f"{QUEUES}2": None, f"{QUEUES}3": 1, f"{other}1": 0}, "new")
    meta(theirs, {f"{QUEUES}1": 1, f"{QUEUES}2": 0, f"{QUEUES}3": 0, f"{other}1": 1}, "old")
    # WHEN its verdicts are merged in
    assert mutation.merge(theirs, ours) == 0
    codes = json.loads((ours / "sluice/runtime/queues.py.meta").read_text())["exit_code_by_key"]
    # THEN a survivor it killed and a mutant it decided are taken; a kill here is never
    # undone; and nothing is taken for a function that changed since
    assert codes == {f"{QUEUES}1": 1, f"{QUEUES}2": 0, f"{QUEUES}3": 1, f"{other}1": 0}
