"""A second, different domain built from ``sluice new`` by the documented steps alone.

The example is removed as the project's README lists; then a billing domain is added with
only Sluice's public API: a FIFO worker, a per-record stream worker, an SNS-fed worker fed
by a schedule whose payload carries its slot, an API, and an event type with a v2. Its own
tests (``billing/test_billing.py.txt``) run the FIFO and stream workers without the sandbox
through ``sluice.testing``'s builders, and the schedule and API in a sandbox on a manual
clock. The project's own make test, lint and synth must pass, as a newcomer would run them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.projects import collected, created, passes

pytestmark = [pytest.mark.scaffold, pytest.mark.slow, pytest.mark.timeout(600)]
BILLING = Path(__file__).resolve().parent / "billing"
PLACED = {
    "app.py": "app.py",
    "events.py": "events/__init__.py",
    "api.py": "producers/api.py",
    "totals.py": "workers/totals.py",
    "invoice_changes.py": "workers/invoice_changes.py",
    "digest.py": "workers/digest.py",
    "test_billing.py": "tests/test_billing.py",
}


def remove_the_example(project: Path) -> None:
    """Delete what the project's README ("Replace the example") lists, as it says."""
    listed = (project / "README.md").read_text()
    section = listed[listed.index("## Replace the example") :]
    section = re.sub(r"\([^)]*\)", "", section[: section.index("\n## ", 1)])  # asides
    for name in re.findall(r"`((?:workers|tests)/\w+\.py)`", section):
        (project / name).unlink()
    assert not (project / "workers" / "words.py").exists()
    assert (project / "tests" / "test_infra.py").exists()  # "stays: it reads the declaration"
    (project / "demo" / "__init__.py").write_text('"""The billing demo: none yet."""\n')


def test_a_billing_domain_built_by_the_documented_steps_passes_its_own_checks(
    tmp_path: Path,
) -> None:
    # GIVEN a new project whose example was removed as its README says
    project = created(tmp_path / "billing")
    remove_the_example(project)
    # WHEN the billing domain is written into it (app.py and events/ replace the example's)
    for source, target in PLACED.items():
        (project / target).write_text((BILLING / f"{source}.txt").read_text())
    # THEN its own tests, lint and synth pass ...
    tested = passes(project, "test", "lint", "synth")
    # ... its own billing tests ran, and the template holds the FIFO queue and the schedule
    nodes = collected(project)
    billing = [line for line in nodes.splitlines() if "test_billing.py::" in line]
    assert len(billing) == 4, nodes
    passed = re.search(r"\b(\d+) passed", tested.stdout)
    assert passed and int(passed.group(1)) == nodes.count("::"), tested.stdout
    resources = json.loads((project / "cdk.out" / "Billing.template.json").read_text())
    names = {str(r.get("Properties", {}).get("QueueName")) for r in resources["Resources"].values()}
    assert {"billing-totals.fifo", "billing-daily-digest-schedule-dlq"} <= names
    schedule = next(
        r for r in resources["Resources"].values() if r["Type"] == "AWS::Scheduler::Schedule"
    )
    assert "<aws.scheduler.scheduled-time>" in json.dumps(schedule["Properties"]["Target"])
