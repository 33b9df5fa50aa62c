"""The README's guide followed in projects made by ``sluice new``: every step keeps the
project's own make test, lint, demo and synth passing, and ``--bare`` starts from no example at all.

Each test makes its own project on this checkout's venv (``NO_INSTALL=1 VENV=...``) and
layer cache, so a run costs the project's own tests, not an install.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.projects import collected, created, passes
from tests.scaffold.guide import follow_every_guide_step

pytestmark = [pytest.mark.scaffold, pytest.mark.slow, pytest.mark.timeout(600)]


def test_a_bare_project_has_no_example_and_passes_its_own_test_lint_and_synth(
    tmp_path: Path,
) -> None:
    # GIVEN a project made with --bare
    project = created(tmp_path / "blank", "--bare")
    # THEN nothing of the example is in its code: no workers, no events, no tables
    written = [p.relative_to(project) for p in project.rglob("*.py")]
    code = {p: (project / p).read_text() for p in written if not p.parts[0].startswith(".")}
    assert not [path for path, text in code.items() if re.search(r"\bnotes?\b|words", text)]
    assert sorted(p.name for p in (project / "workers").iterdir()) == ["__init__.py"]
    assert "CATALOG = Catalog([])" in code[Path("events/__init__.py")]
    # ... and its own tests, lint and synth pass as it is
    passes(project, "test", "lint", "synth")
    assert json.loads((project / "cdk.out" / "Blank.template.json").read_text())["Resources"]


def test_the_projects_own_test_lint_demo_and_synth_pass_after_every_guide_step(
    tmp_path: Path,
) -> None:
    # GIVEN a new project grown by the README's steps: a worker, a new version of an
    # event, a table, a schedule and an API
    project = created(tmp_path / "acme")
    follow_every_guide_step(project)
    # WHEN its own tests, lint, demo and synth run, THEN they pass ...
    passes(project, "test", "lint", "demo", "synth")
    # ... and its infra tests checked the new worker and schedule too
    nodes = collected(project)
    for node in (
        "test_each_queue_worker_has_its_queue_dlqs_and_alarms[archive]",
        "test_each_worker_role_holds_only_the_tables_it_declares[archive]",
        "test_each_schedule_has_its_dlq_and_alarm[weekly-sweep]",
    ):
        assert node in nodes, nodes
