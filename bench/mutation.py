"""``python -m bench.mutation``: the score of the last ``make mutate``, per module.

Reads mutmut's own records (``mutants/**/*.py.meta``) and prints a Markdown table of
killed / survived / timeout / no tests / not checked per mutated module, then the surviving
mutants, whose diffs ``mutmut show NAME`` prints.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

MUTANTS = Path("mutants")
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
    metas = sorted(MUTANTS.glob("**/*.py.meta"))
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


if __name__ == "__main__":
    sys.exit(main())
