"""`sluice capacity` as a user runs it: a subprocess in the reference app and in a project
`sluice new` made, with no AWS account."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.projects import ROOT, VENV, sluice_new


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV / "bin" / "sluice"), "capacity", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(cwd)},
    )


def test_the_reference_app_gets_headroom_its_bottleneck_with_the_knob_and_the_cost() -> None:
    done = run(ROOT, "--rate", "10000/s", "--hot-key", "0.05", "--burst", "5x:60s")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "worker inventory: invocations" in out and "headroom" in out
    assert "first bottleneck: api gateway: stage throttle, at 100 events/s" in out
    assert "raise API_RATE_LIMIT (sluice/sizing.py) from 100 to 12,500" in out
    assert "cost per million events" in out and "total" in out
    assert "burst 5x for 60 s" in out


def test_json_output_names_the_bottleneck_and_the_unfound_figures() -> None:
    done = run(ROOT, "--rate", "10000/s", "--json")
    doc = json.loads(done.stdout)
    assert doc["bottleneck"]["hop"] == "api gateway: stage throttle"
    assert "sns_publish_tps" in doc["unfound"]
    assert doc["total_usd_per_million_events"] > 0


def test_a_new_project_gets_its_own_answer(tmp_path: Path) -> None:
    project = sluice_new(tmp_path / "acme")
    done = run(project, "--rate", "10000/s")
    assert done.returncode == 0, done.stderr
    assert "events/s at the tables (note.created)" in done.stdout
    assert "first bottleneck:" in done.stdout
    assert "stream notes -> relay" in done.stdout and "worker words: invocations" in done.stdout


def test_simulate_writes_the_plot_and_the_summary(tmp_path: Path) -> None:
    done = run(
        ROOT, "--rate", "200/s", "--simulate", "--duration", "30", "--out", str(tmp_path / "run")
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((tmp_path / "run.json").read_text())
    assert summary["events"]["entered"] > 0 and summary["windows"]


def test_bad_input_is_one_line_and_exit_2() -> None:
    for args, said in [
        (("--rate", "fast"), "error: --rate 'fast': give events per unit of time"),
        (("--rate", "10/s", "--burst", "x5"), "error: --burst 'x5': give FACTORx:SECONDSs"),
        (("--rate", "10/s", "--region", "eu-west-1"), "error: --region 'eu-west-1'"),
        (("--rate", "10/s", "--record-ms", "nosuch=5"), "error: no worker named 'nosuch'"),
    ]:
        done = run(ROOT, *args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(said) and done.stderr.count("\n") == 1, done.stderr
