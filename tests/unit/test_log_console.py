"""The sandbox's merged log prints any line on a terminal, whatever a body put in it."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from sluice.local.logs import LogSink


def test_a_correlation_id_with_a_lone_surrogate_is_printed_escaped(tmp_path: Path) -> None:
    # GIVEN a sink printing to a UTF-8 terminal, and a correlation id read from a JSON body
    # that escapes a lone surrogate ({"correlation_id": "\ud800..."} is valid JSON)
    shown = tmp_path / "terminal.txt"
    with shown.open("w", encoding="utf-8") as terminal:
        sink = LogSink(tmp_path / "sandbox.log", Console(file=terminal, width=200))
        # WHEN the poller logs the record's hop and its invocation's end
        sink.event("queue delivered", worker="audit", correlation_id="\ud800abc", note="\udfff")
        sink.event("invocation end", worker="audit", correlation_id="-", settled=["\ud800abc"])
        sink.close()
    # THEN both lines are on the terminal, each surrogate escaped, and both are in the file
    lines = shown.read_text(encoding="utf-8").splitlines()
    assert [line[13:] for line in lines] == [
        "audit      \\ud800abc     queue delivered note=\\udfff",
        "audit      -        invocation end",
    ]
    assert len((tmp_path / "sandbox.log").read_text().splitlines()) == 2
