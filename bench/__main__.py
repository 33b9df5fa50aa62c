"""``python -m bench [--quick] [--only NAME]``: run the benchmarks, print and record them.

Every module ``bench/bench_*.py`` exposes ``run(quick) -> list[Row]``. Full runs update
``bench/results.json`` (one entry per module, so ``--only`` replaces just its own) and
render ``bench/RESULTS.md`` from it; quick runs write to ``bench/.out/`` instead, so smoke
figures never pass for results.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import bench
from bench.harness import Row
from bench.report import ModuleResult, machine, markdown, show

HERE = Path(__file__).resolve().parent
PREFIX = "bench_"


def modules() -> list[str]:
    """Every benchmark module's short name (``runtime`` for ``bench/bench_runtime.py``)."""
    found = pkgutil.iter_modules(bench.__path__)
    return sorted(m.name.removeprefix(PREFIX) for m in found if m.name.startswith(PREFIX))


def run_module(name: str, quick: bool) -> ModuleResult:
    """Run one module; a failure becomes a result that carries the error."""
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{PREFIX}{name}")
        rows = module.run(quick)
        wrong = [r for r in rows if not isinstance(r, Row)]
        if wrong:
            raise TypeError(f"run() must return Rows, got {type(wrong[0]).__name__}")
    except Exception as exc:
        traceback.print_exc()
        error = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
        return ModuleResult(name, date, time.perf_counter() - started, quick, error=error)
    return ModuleResult(name, date, time.perf_counter() - started, quick, rows=list(rows))


def main(argv: list[str] | None = None) -> int:
    """Run, print, record; exit 1 if a module failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repeats, seconds per module")
    parser.add_argument("--only", metavar="NAME", help=f"one module: {', '.join(modules())}")
    args = parser.parse_args(argv)
    names = modules()
    if args.only:
        wanted = args.only.removeprefix(PREFIX).removesuffix(".py")
        if wanted not in names:
            parser.error(f"no benchmark {args.only!r}; there are: {', '.join(names)}")
        names = [wanted]
    results = []
    for name in names:
        print(f"running bench/{PREFIX}{name}.py{' (quick)' if args.quick else ''} ...", flush=True)
        results.append(run_module(name, args.quick))
    show(results)
    where = HERE / ".out" if args.quick else HERE
    where.mkdir(exist_ok=True)
    recorded = _merge(where / "results.json", results)
    (where / "RESULTS.md").write_text(markdown(recorded, machine()))
    print(f"wrote {where / 'RESULTS.md'}")
    return 1 if any(r.error for r in results) else 0


def _merge(path: Path, results: list[ModuleResult]) -> list[ModuleResult]:
    """Replace these modules' entries in ``path``, keep the others, drop removed modules."""
    kept: dict[str, ModuleResult] = {}
    if path.exists():
        for doc in json.loads(path.read_text()):
            kept[doc["module"]] = ModuleResult.from_json(doc)
    kept.update({r.module: r for r in results})
    current = [kept[name] for name in modules() if name in kept]
    path.write_text(json.dumps([r.to_json() for r in current], indent=2) + "\n")
    return current


if __name__ == "__main__":
    sys.exit(main())
