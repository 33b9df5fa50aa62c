"""``sluice new`` makes a project whose make test/demo/synth pass, and the README's guide works.

The project reuses this checkout's venv (``NO_INSTALL=1 VENV=...``) and the layer cache, so
the checks cost seconds, not an install. The guide test follows the README's "Add a
worker", "Add an event type" and "Add a table" steps word for word in the new project.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.projects import ROOT, VENV, created, make, sluice
from tests.scaffold.guide import ARCHIVE_WORKER, ARCHIVED_EVENT, CATALOG_LINE

pytestmark = pytest.mark.scaffold


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return created(tmp_path_factory.mktemp("scaffold") / "acme")


def template(project: Path) -> dict[str, Any]:
    """The synthesized template (``make synth`` writes it)."""
    return json.loads((project / "cdk.out" / "Acme.template.json").read_text())  # type: ignore[no-any-return]


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("mine")
    done = subprocess.run(
        [sys.executable, "-m", "sluice.cli", "new", str(tmp_path / "busy")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "exists and is not empty" in done.stderr
    assert (tmp_path / "busy" / "file.txt").read_text() == "mine"


def test_a_new_project_installs_from_the_locks_sluice_was_verified_with(project: Path) -> None:
    # GIVEN a project made from this source tree
    # THEN it holds Sluice's own locks, byte for byte, and its Makefile installs from them
    for name in ("requirements.lock", "requirements-build.lock"):
        assert (project / name).read_bytes() == (ROOT / name).read_bytes()
    dry = subprocess.run(
        ["make", "-n", "-C", str(project), "install", "VENV=/nonexistent"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--require-hashes --no-deps -r requirements.lock" in dry
    assert "--require-hashes --no-deps --upgrade --target" in dry
    assert "-r requirements-build.lock" in dry


def test_the_new_project_passes_its_own_tests_and_lint(project: Path) -> None:
    tested = make(project, "test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert " passed" in tested.stdout and "failed" not in tested.stdout
    linted = make(project, "lint")
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_new_project_demo_passes(project: Path) -> None:
    done = make(project, "demo")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS in" in done.stdout
    assert "notes per author = notes written" in done.stdout
    # into a pipe nothing is cut short, and the command to follow one note is one whole line
    assert "…" not in done.stdout
    assert re.search(r"^PASS in [0-9.]+ s\. Follow one \w+: sluice trace \S+$", done.stdout, re.M)


def test_the_new_project_synthesizes_its_worker_with_queue_dlqs_and_alarms(
    project: Path,
) -> None:
    done = make(project, "synth")
    assert done.returncode == 0, done.stdout + done.stderr
    names = _names(template(project))
    assert {"acme-words", "acme-words-dlq", "acme-words-sub-dlq"} <= names["queues"]
    assert {"acme-words-dlq", "acme-words-sub-dlq", "acme-words-errors"} <= names["alarms"]
    assert {"acme-relay", "acme-words", "acme-changes"} == {
        name for name in names["functions"] if name.startswith("acme-")
    }


def test_following_the_guide_adds_a_worker_everywhere(tmp_path: Path) -> None:
    project = created(tmp_path / "acme")
    # Add an event type: a contract in events/ and the catalog.
    events = project / "events" / "__init__.py"
    assert CATALOG_LINE in events.read_text()
    events.write_text(events.read_text().replace(CATALOG_LINE, ARCHIVED_EVENT))
    # Add a table: Table(...) in App(tables=...).
    app = project / "app.py"
    text = app.read_text()
    assert 'Table("stats", partition_key="pk"),' in text
    app.write_text(
        text.replace(
            'Table("stats", partition_key="pk"),',
            'Table("stats", partition_key="pk"),\n        Table("archive", partition_key="id"),',
        )
    )
    # Add a worker: workers/<name>.py with @worker(...) and `handler = <name>.handler`.
    (project / "workers" / "archive.py").write_text(ARCHIVE_WORKER)

    # THEN the template gives it its queue, DLQs, alarms and function ...
    done = make(project, "synth")
    assert done.returncode == 0, done.stdout + done.stderr
    names = _names(template(project))
    assert {"acme-archive", "acme-archive-dlq", "acme-archive-sub-dlq"} <= names["queues"]
    assert {"acme-archive-dlq", "acme-archive-sub-dlq", "acme-archive-queue-age"} <= names["alarms"]
    assert "acme-archive" in names["functions"] and "acme-archive" in names["tables"]
    # ... `sluice graph` draws it ...
    graph = sluice(project, "graph")
    assert graph.returncode == 0, graph.stderr
    assert "queue_acme_archive -->" in graph.stdout and '"note.archived"' in graph.stdout
    # ... and it runs in the sandbox, where `sluice dlq ls` lists its DLQs.
    with sandbox(project) as endpoint:
        published = sluice(
            project,
            "publish",
            "--local",
            "--type",
            "note.archived",
            "--data",
            '{"note_id": "n-1", "reason": "done"}',
        )
        assert published.returncode == 0, published.stdout + published.stderr
        db = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="eu-west-1",
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )
        item = _wait_for(
            lambda: db.get_item(TableName="acme-archive", Key={"id": {"S": "n-1"}}).get("Item")
        )
        assert item["reason"] == {"S": "done"}
        listed = sluice(project, "dlq", "ls", "--local", "--json")
        assert listed.returncode == 0, listed.stderr
        dlqs = {row["name"] for row in json.loads(listed.stdout)}
        assert {"acme-archive-dlq", "acme-archive-sub-dlq"} <= dlqs


class sandbox:
    """``sluice up`` in the project until the block ends; yields the moto endpoint."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> str:
        state = self.project / ".sluice" / "sandbox.json"
        self.process = subprocess.Popen(
            [str(VENV / "bin" / "sluice"), "up", "--quiet"],
            cwd=self.project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "SLUICE_STATE_DIR": str(self.project / ".sluice")},
        )
        _wait_for(lambda: state.exists() or self.process.poll() is not None, timeout=60)  # type: ignore[union-attr]
        assert self.process.poll() is None, self.process.communicate()[1]
        return str(json.loads(state.read_text())["endpoint_url"])

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


def _wait_for(probe: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"nothing after {timeout} s")


def _names(found: dict[str, Any]) -> dict[str, set[str]]:
    """Physical names in a template, by kind."""
    wanted = {
        "queues": ("AWS::SQS::Queue", "QueueName"),
        "alarms": ("AWS::CloudWatch::Alarm", "AlarmName"),
        "functions": ("AWS::Lambda::Function", "FunctionName"),
        "tables": ("AWS::DynamoDB::Table", "TableName"),
    }
    return {
        kind: {
            str(r["Properties"].get(prop))
            for r in found["Resources"].values()
            if r["Type"] == resource
        }
        for kind, (resource, prop) in wanted.items()
    }
