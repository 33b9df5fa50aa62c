"""``python -m bench.mutation``: the score of the last ``make mutate``, per module.

Reads mutmut's own records (``mutants/**/*.py.meta``) and prints a Markdown table of
killed / survived / timeout / no tests / not checked per mutated module, then the survivors
against the ledger (``bench/mutation_survivors.toml``, see ``bench.mutation_ledger``): how
many are explained per module, the unexplained ones (``mutmut show NAME`` prints each diff)
and the stale entries. ``--check`` exits 1 when any survivor is unexplained; ``--saved``
reads the committed verdicts instead of ``mutants/``. ``merge DIR`` takes into
``mutants/`` the verdicts another run decided (another worktree's ``bench/mutation_state``).

A whole run takes hours, more than one working session, and ``mutants/`` is not kept:
``save`` copies the verdicts (the ``.meta`` files) into ``bench/mutation_state/``, which is
committed, and ``restore`` puts them back before a run. mutmut keeps a verdict while the
function it mutated is unchanged (it compares each function's hash), so a run on another
machine or in a later session resumes where the last one stopped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench import mutation_ledger
from bench.mutation_ledger import LEDGER

MUTANTS = Path("mutants")
STATE = Path("bench/mutation_state")
SOURCES = ("sluice",)
"""mutmut's ``source_paths``: only their verdicts are read and saved. ``mutants/`` also holds
a copy of ``bench/`` (``also_copy``), saved verdicts included, which must not count twice."""
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
TIMEOUTS = {24, -24, 36, 152, 255}
COLUMNS = ("killed", "survived", "timeout", "no tests", "not checked", "other")


def status(code: int | None) -> str:
    """mutmut's verdict for one exit code, in the report's columns."""
    if code is None:
        return "not checked"
    if code in TIMEOUTS:
        return "timeout"
    return STATUS.get(code, "other")


def main(argv: list[str] | None = None) -> int:
    """``report`` (the default), ``save`` or ``restore``; see ``--help``."""
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="report", choices=("report", "save", "restore", "merge")
    )
    parser.add_argument("other", nargs="?", type=Path, help="merge: the verdicts to take in")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a survivor has no entry in the ledger (bench/mutation_survivors.toml)",
    )
    parser.add_argument(
        "--saved",
        action="store_true",
        help="report the committed verdicts (bench/mutation_state), not mutants/",
    )
    args = parser.parse_args(argv)
    if args.command == "save":
        return save()
    if args.command == "restore":
        return restore()
    if args.command == "merge":
        if args.other is None:
            parser.error("merge needs the folder of the other verdicts")
        return merge(args.other, MUTANTS)
    return report(STATE if args.saved else MUTANTS, LEDGER, check=args.check)


def report(root: Path, ledger_path: Path, *, check: bool = False) -> int:
    """Print the score table, then the survivors against the ledger: how many are explained
    per module, the unexplained ones, and the stale entries. 1 if there is no run to report,
    or, with ``check``, if a survivor is unexplained or the ledger is malformed."""
    verdicts = read_verdicts(root)
    if not verdicts:
        print(f"no mutmut results in {root}: run `make mutate` first", file=sys.stderr)
        return 1
    try:
        ledger = mutation_ledger.load(ledger_path)
    except mutation_ledger.LedgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    total: Counter[str] = Counter()
    print("| module | " + " | ".join(COLUMNS) + " | killed (with timeouts) |")
    print("|---|" + "---:|" * (len(COLUMNS) + 1))
    for module, statuses in verdicts.items():
        counts = Counter(statuses.values())
        total += counts
        print(_row(module, counts))
    print(_row("**all**", total))
    found = mutation_ledger.audit(verdicts, ledger)
    print(f"\nSurvivors against the ledger ({ledger_path}):\n")
    print("\n".join(mutation_ledger.table(found)))
    if found.unexplained:
        print(f"\n{len(found.unexplained)} unexplained (`.venv/bin/mutmut show NAME` prints each):")
        print("\n".join(f"- {name}" for name in found.unexplained))
    if found.stale:
        print(f"\n{len(found.stale)} stale entries (no longer survivors; remove them):")
        print("\n".join(f"- {name}: {status}" for name, status in found.stale.items()))
    return 1 if check and found.unexplained else 0


def read_verdicts(root: Path) -> dict[str, dict[str, str]]:
    """Each mutated module's mutants and their verdicts, from the ``.meta`` files under
    ``root``."""
    verdicts = {}
    for meta in _metas(root):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        module = str(meta.relative_to(root)).removesuffix(".meta")
        verdicts[module] = {name: status(code) for name, code in codes.items()}
    return verdicts


def _row(module: str, counts: Counter[str]) -> str:
    """Killed share of the decided mutants, then mutmut's own (a timeout counts as detected,
    which on a loaded machine it often is not: a survivor whose tests ran out of budget)."""
    decided = counts["killed"] + counts["survived"] + counts["timeout"]
    score = (
        f"{counts['killed'] / decided:.1%} ({(counts['killed'] + counts['timeout']) / decided:.1%})"
        if decided
        else "n/a"
    )
    return f"| {module} | " + " | ".join(str(counts[c]) for c in COLUMNS) + f" | {score} |"


def save() -> int:
    """Copy every verdict from ``mutants/`` into ``bench/mutation_state/``."""
    return _copy(MUTANTS, STATE)


def restore() -> int:
    """Put the saved verdicts back into ``mutants/`` for the next run to resume from."""
    return _copy(STATE, MUTANTS)


def merge(other: Path, into: Path) -> int:
    """Take in the verdicts of another run (a worktree's own mutants, after new tests): a
    mutant gets the other run's verdict where this one has none or saw it survive, and only
    while the function it mutates is the same in both (mutmut's hash of it)."""
    taken = 0
    for meta in _metas(other):
        target = into / meta.relative_to(other)
        if not target.exists():
            continue
        theirs, ours = json.loads(meta.read_text()), json.loads(target.read_text())
        taken += _take_verdicts(theirs, ours)
        target.write_text(json.dumps(ours, indent=4))
    print(f"{taken} verdicts taken from {other} into {into}")
    return 0


def _take_verdicts(theirs: dict[str, Any], ours: dict[str, Any]) -> int:
    same = {
        name
        for name, digest in ours["hash_by_function_name"].items()
        if theirs["hash_by_function_name"].get(name) == digest
    }
    taken = 0
    for key, code in theirs["exit_code_by_key"].items():
        mine = ours["exit_code_by_key"].get(key, -1)
        function = key.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
        if code is None or mine not in (None, 0) or function not in same:
            continue
        if mine != code:
            ours["exit_code_by_key"][key] = code
            taken += 1
    return taken


def _metas(root: Path) -> list[Path]:
    """The verdict files of the mutated sources under ``root``."""
    return sorted(meta for path in SOURCES for meta in (root / path).glob("**/*.py.meta"))


def _copy(source: Path, target: Path) -> int:
    metas = _metas(source)
    for meta in metas:
        destination = target / meta.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(meta, destination)
    print(f"{len(metas)} verdict files copied from {source} to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
