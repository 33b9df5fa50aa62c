"""``sluice new`` makes a project whose make test/demo/synth pass, and the README's guide works.

The project reuses this checkout's venv (``NO_INSTALL=1 VENV=...``) and the layer cache, so
the checks cost seconds, not an install. The guide test follows the README's "Add a
worker", "Add an event type" and "Add a table" steps word for word in the new project.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.projects import sluice_new

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
pytestmark = pytest.mark.scaffold

CATALOG_LINE = "CATALOG = Catalog([Contract(NOTE_CREATED, 1, NoteCreated)])"
ARCHIVED_EVENT = '''NOTE_ARCHIVED = "note.archived"


class NoteArchived(Model):
    """note.archived v1: a note was archived."""

    note_id: Annotated[str, rules(min_len=1, max_len=128)]
    reason: Annotated[str, rules(max_len=500)] = ""


CATALOG = Catalog(
    [Contract(NOTE_CREATED, 1, NoteCreated), Contract(NOTE_ARCHIVED, 1, NoteArchived)]
)'''

ARCHIVE_WORKER = '''"""archive: keep every archived note's id and reason."""

from __future__ import annotations

from sluice.core import Envelope
from sluice.runtime import Deps, worker

from events import CATALOG, NOTE_ARCHIVED, NoteArchived


@worker(catalog=CATALOG, subscribes=[NOTE_ARCHIVED], writes=("archive",))
def archive(event: Envelope[NoteArchived], deps: Deps) -> None:
    """Record one archived note."""
    item = {"id": {"S": event.data.note_id}, "reason": {"S": event.data.reason}}
    deps.transact([{"Put": {"TableName": deps.settings.table("archive"), "Item": item}}])


handler = archive.handler
'''


NOTE_CREATED_V2 = '''class NoteCreatedV2(Model):
    """note.created v2: a note, with its tags."""

    note_id: Annotated[str, rules(min_len=1, max_len=128)]
    author: Annotated[str, rules(min_len=1, max_len=128)]
    text: Annotated[str, rules(max_len=10_000)]
    tags: tuple[str, ...] = ()


NOTE_ARCHIVED = "note.archived"


class NoteArchived(Model):
    """note.archived v1: a note was archived."""

    note_id: Annotated[str, rules(min_len=1, max_len=128)]
    reason: Annotated[str, rules(max_len=500)] = ""


CATALOG = Catalog(
    [
        Contract(NOTE_CREATED, 1, NoteCreated),
        Contract(NOTE_CREATED, 2, NoteCreatedV2),
        Contract(NOTE_ARCHIVED, 1, NoteArchived),
    ]
)'''

GUIDE_APP_ADDITIONS = """    api=Api(
        handler="producers.api.handler",
        factory=build,
        routes=(Route("POST", "/notes", body=True),),
        tables=("notes",),
    ),
    schedules=(
        Schedule(
            "weekly-sweep",
            "cron(0 3 ? * SUN *)",
            "note.archived",
            {"note_id": "sweep", "reason": "weekly"},
            timezone="Europe/Paris",
        ),
    ),
"""


def make(project: Path, target: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``make TARGET`` in the project, on this checkout's venv.

    This checkout is installed editable (an import hook mypy cannot follow), so mypy is
    pointed at its source; a project's own ``make`` installs a real copy, typed (py.typed).
    """
    return subprocess.run(
        ["make", "-C", str(project), target, "NO_INSTALL=1", f"VENV={VENV}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "MYPYPATH": str(ROOT)},
    )


def sluice(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The ``sluice`` command, run in the project."""
    return subprocess.run(
        [str(VENV / "bin" / "sluice"), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def created(folder: Path, *options: str) -> Path:
    """A new project in ``folder``, with this checkout's layer cache copied in."""
    sluice_new(folder, *options)
    layer = ROOT / ".cache" / "infra" / "layer"
    if layer.is_dir():
        shutil.copytree(layer, folder / ".cache" / "infra" / "layer")
    return folder


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


def test_a_bare_project_has_no_example_and_passes_its_own_test_lint_and_synth(
    tmp_path: Path,
) -> None:
    # GIVEN a project made with --bare
    project = created(tmp_path / "blank", "--bare")
    # THEN nothing of the example is in its code: no workers, no events, no tables
    code = {p.relative_to(project): p.read_text() for p in project.rglob("*.py")}
    assert not [path for path, text in code.items() if re.search(r"\bnotes?\b|words", text)]
    assert sorted(p.name for p in (project / "workers").iterdir()) == ["__init__.py"]
    assert "CATALOG = Catalog([])" in code[Path("events/__init__.py")]
    # ... and its own tests, lint and synth pass as it is
    for target in ("test", "lint", "synth"):
        done = make(project, target)
        assert done.returncode == 0, f"make {target}: {done.stdout}{done.stderr}"
    assert json.loads((project / "cdk.out" / "Blank.template.json").read_text())["Resources"]


def readme_block(project: Path, first_line: str) -> str:
    """The Python block of the project's README that starts with ``first_line``."""
    for block in re.findall(r"```python\n(.*?)```", (project / "README.md").read_text(), re.S):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"the README has no Python block starting {first_line!r}")


def follow_every_guide_step(project: Path) -> None:
    """The README's steps: an event type and a new version, a table, an API, a schedule and
    a worker, each as the step says."""
    events = project / "events" / "__init__.py"
    assert CATALOG_LINE in events.read_text()
    events.write_text(events.read_text().replace(CATALOG_LINE, NOTE_CREATED_V2))
    app = project / "app.py"
    text = app.read_text()
    for old, new in (
        (
            'Table("stats", partition_key="pk"),',
            'Table("stats", partition_key="pk"),\n        Table("archive", partition_key="id"),',
        ),
        (
            "from sluice.app import App, Table",
            "from sluice.app import Api, App, Route, Schedule, Table",
        ),
        (
            "from events import CATALOG",
            "from events import CATALOG\nfrom producers.api import build",
        ),
        ('    demo="demo:NotesDemo",', GUIDE_APP_ADDITIONS + '    demo="demo:NotesDemo",'),
    ):
        assert old in text, old
        text = text.replace(old, new)
    app.write_text(text)
    (project / "producers" / "api.py").write_text(readme_block(project, "# producers/api.py\n"))
    (project / "workers" / "archive.py").write_text(ARCHIVE_WORKER)


def test_the_projects_own_tests_and_lint_pass_after_every_guide_step(tmp_path: Path) -> None:
    # GIVEN a new project grown by the README's steps: a worker, a new version of an
    # event, a table, a schedule and an API
    project = created(tmp_path / "acme")
    follow_every_guide_step(project)
    # WHEN its own tests and lint run
    tested = make(project, "test")
    linted = make(project, "lint")
    # THEN they pass, and its infra tests checked the new worker and schedule too
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "failed" not in tested.stdout
    assert linted.returncode == 0, linted.stdout + linted.stderr
    collected = subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pytest", "--collect-only", "-q", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    for node in (
        "test_each_queue_worker_has_its_queue_dlqs_and_alarms[archive]",
        "test_each_worker_role_holds_only_the_tables_it_declares[archive]",
        "test_each_schedule_has_its_dlq_and_alarm[weekly-sweep]",
    ):
        assert node in collected, collected


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
