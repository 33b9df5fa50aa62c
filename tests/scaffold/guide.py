"""The README's guide steps, as a project made by ``sluice new`` follows them."""

from __future__ import annotations

import re
from pathlib import Path

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
