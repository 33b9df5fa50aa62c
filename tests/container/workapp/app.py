"""The work app's declaration (``[tool.sluice] app = "tests.container.workapp.app:APP"``)."""

from __future__ import annotations

from pathlib import Path

from sluice.app import App, Table
from tests.container.workapp.events import CATALOG

APP = App(
    name="work",
    catalog=CATALOG,
    workers="tests.container.workapp.workers",
    tables=(Table("effects", partition_key="pk"),),
    code=("tests/container/workapp",),
    prefix="work",
    root=Path(__file__).resolve().parents[3],
)
