"""The benchmark report: table cells, failures shown, Markdown with the machine."""

from __future__ import annotations

from bench.harness import Row, compare
from bench.report import ModuleResult, cells, machine, markdown


def row(**changes: object) -> Row:
    fields: dict[str, object] = {
        "name": "IO-bound batch",
        "unit": "ms",
        "sluice": 100.0,
        "peer_name": "Powertools",
        "peer": 500.0,
        "target": "ratio <= 0.2",
        "met": True,
        "spread": "p25-p75 99-101",
        "runs": 15,
    }
    return Row(**{**fields, **changes})  # type: ignore[arg-type]


def test_compare_takes_medians_and_judges_the_ratio() -> None:
    made = compare("x", "ms", [1.0, 2.0, 3.0], "peer", [10.0, 10.0, 10.0], max_ratio=0.2)
    assert (made.sluice, made.peer, made.ratio, made.met) == (2.0, 10.0, 0.2, True)
    assert made.spread == "sluice min-max 1-3; peer min-max 10-10"
    missed = compare("x", "ms", [3.0], "peer", [10.0], max_ratio=0.2)
    assert missed.met is False and missed.target == "ratio <= 0.2"


def test_cells_show_ratio_and_a_missed_target() -> None:
    assert cells(row())[4:7] == ("0.2", "ratio <= 0.2", "met")
    assert cells(row(sluice=150.0, met=False))[4:7] == ("0.3", "ratio <= 0.2", "MISSED")
    assert cells(row(peer=None, peer_name="", met=None))[2:5] == ("-", "-", "-")


def test_markdown_lists_machine_rows_and_failures() -> None:
    good = ModuleResult("runtime", "2026-11-23 19:00 UTC", 42.0, False, rows=[row()])
    bad = ModuleResult("replay", "2026-11-23 19:01 UTC", 1.0, False, error="OSError: boom")
    text = markdown([good, bad], machine())
    assert "cores " in text and "aws-lambda-powertools " in text and "python " in text
    assert "| IO-bound batch | 100 ms | Powertools | 500 ms | 0.2 | ratio <= 0.2 | met |" in text
    assert "| replay: FAILED |" in text and "OSError: boom" in text
    assert ModuleResult.from_json(good.to_json()) == good
