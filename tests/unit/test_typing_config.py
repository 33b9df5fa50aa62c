"""mypy reads only the aws_cdk modules the code imports, and every one of them.

Both pyproject files (this repo's and the one ``sluice new`` writes) skip ``aws_cdk.*`` and list
the modules to read. A module missing from a list would go unchecked (Any); a stale one costs
time. So each list must equal what the code it covers imports.
"""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "sluice" / "scaffold" / "template"
APP_CODE = ("sluice", "infra", "tests", "bench", "app.py")


def _cdk_submodules() -> set[str]:
    spec = importlib.util.find_spec("aws_cdk")
    assert spec is not None and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations)))
    return {path.name for path in folder.iterdir() if (path / "__init__.py").is_file()}


def _imported(sources: Iterable[Path]) -> set[str]:
    """The aws_cdk modules these Python sources import (``from aws_cdk import aws_x`` included)."""
    submodules = _cdk_submodules()
    found: set[str] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.split(".")[0] == "aws_cdk"}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aws_cdk"):
                module = node.module or ""
                found.add(module)
                if module == "aws_cdk":
                    found |= {f"aws_cdk.{a.name}" for a in node.names if a.name in submodules}
    return found


def _python(*roots: Path, suffix: str = ".py") -> list[Path]:
    files: list[Path] = []
    for root in roots:
        files += [root] if root.is_file() else sorted(root.rglob(f"*{suffix}"))
    return [f for f in files if ".venv" not in f.parts and "node_modules" not in f.parts]


def _read_in_full(pyproject: Path) -> set[str]:
    """The aws_cdk modules a pyproject's mypy overrides follow (the rest are skipped)."""
    overrides = tomllib.loads(pyproject.read_text())["tool"]["mypy"]["overrides"]
    skipped = [o for o in overrides if o.get("follow_imports") == "skip"]
    assert any("aws_cdk.*" in o["module"] for o in skipped), f"{pyproject}: aws_cdk.* not skipped"
    normal = [o for o in overrides if o.get("follow_imports") == "normal"]
    return {m for o in normal for m in o["module"] if m.split(".")[0] == "aws_cdk"}


def test_the_repo_reads_exactly_the_cdk_modules_it_imports() -> None:
    code = _python(*(ROOT / name for name in APP_CODE))
    assert _read_in_full(ROOT / "pyproject.toml") == _imported(code)


def test_a_new_project_reads_exactly_the_cdk_modules_sluice_and_its_template_import() -> None:
    code = _python(ROOT / "sluice") + _python(TEMPLATE, suffix=".py.tmpl")
    assert _read_in_full(TEMPLATE / "pyproject.toml.tmpl") == _imported(code)


def test_the_import_reader_sees_every_form(tmp_path: Path) -> None:
    """The reader itself: a submodule named in ``from aws_cdk import`` counts, a class does not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import aws_cdk.aws_sqs\n"
        "from aws_cdk import Duration, aws_iam as iam\n"
        "from aws_cdk.assertions import Template\n"
    )
    assert _imported([sample]) == {
        "aws_cdk",
        "aws_cdk.aws_sqs",
        "aws_cdk.aws_iam",
        "aws_cdk.assertions",
    }
