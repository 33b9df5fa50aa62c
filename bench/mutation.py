"""``python -m bench.mutation``: the score of the last ``make mutate``, per module.

Reads mutmut's own records (``mutants/**/*.py.meta``) and prints a Markdown table of
killed / survived / timeout / no tests / not checked per mutated module, then the surviving
mutants, whose diffs ``mutmut show NAME`` prints.

A whole run takes hours, more than one working session, and ``mutants/`` is not kept:
``save`` copies the verdicts (the ``.meta`` files) into ``bench/mutation_state/``, which is
committed, and ``restore`` puts them back before a run. mutmut keeps a verdict while the
function it mutated is unchanged (it compares each function's hash), so a run on another
machine or in a later session resumes where the last one stopped.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from pathlib import Path

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


def main() -> int:
    """Print the table and the survivors; 1 if there is no run to report."""
    metas = _metas(MUTANTS)
    if not metas:
        print("no mutmut results: run `make mutate` first", file=sys.stderr)
        return 1
    total: Counter[str] = Counter()
    survivors: list[str] = []
    print("| module | " + " | ".join(COLUMNS) + " | killed (with timeouts) |")
    print("|---|" + "---:|" * (len(COLUMNS) + 1))
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts = Counter(status(code) for code in codes.values())
        total += counts
        survivors += sorted(k for k, c in codes.items() if status(c) == "survived")
        module = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        print(_row(module, counts))
    print(_row("**all**", total))
    print(f"\n{len(survivors)} survivors (`.venv/bin/mutmut show NAME` prints each diff):")
    for name in survivors:
        print(f"- {name}")
    return 0


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
    COMMANDS = {"report": main, "save": save, "restore": restore}
    sys.exit(COMMANDS[sys.argv[1] if len(sys.argv) > 1 else "report"]())
