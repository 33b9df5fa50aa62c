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


def test_fix_prints_its_plan_and_leaves_no_hop_over_its_limit() -> None:
    done = run(ROOT, "--rate", "10000/s", "--hot-key", "0.05", "--fix")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "--fix: changes applied, hop by hop" in out
    assert "--set api.rate=12500 --set receipts.max_tasks=250" in out
    assert "still at or over" not in out and "at or under the target" in out
    doc = json.loads(run(ROOT, "--rate", "10000/s", "--hot-key", "0.05", "--fix", "--json").stdout)
    assert doc["fix"]["left"] == [] and "--set relay.parallelization=7" in doc["fix"]["set"]
    assert max(h["utilisation"] or 0 for h in doc["hops"]) <= 0.8 + 1e-9


def test_knobs_lists_this_apps_knobs_and_set_moves_the_answer() -> None:
    listed = run(ROOT, "--knobs")
    assert listed.returncode == 0, listed.stderr
    assert "relay.parallelization" in listed.stdout and "inventory.key_shards" in listed.stdout
    doc = json.loads(run(ROOT, "--rate", "10000/s", "--set", "api.rate=20000", "--json").stdout)
    assert doc["bottleneck"]["hop"] == "worker receipts (container): tasks"


def test_a_hot_key_for_one_worker_shows_that_workers_hot_key_only() -> None:
    done = run(ROOT, "--rate", "1000/s", "--hot-key", "inventory=0.3")
    assert done.returncode == 0, done.stderr
    assert "hot key inventory=0.3" in done.stdout
    assert "hot key of inventory" in done.stdout and "hot key of audit" not in done.stdout


def test_simulate_honours_set(tmp_path: Path) -> None:
    common = ("--rate", "300/s", "--simulate", "--duration", "20", "--json")
    deployed = json.loads(run(ROOT, *common, "--out", str(tmp_path / "a")).stdout)
    raised = json.loads(
        run(ROOT, *common, "--set", "api.rate=1000", "--out", str(tmp_path / "b")).stdout
    )
    assert deployed["events"]["refused"] > 0
    assert raised["events"].get("refused", 0) == 0


def test_bad_input_is_one_line_and_exit_2() -> None:
    for args, said in [
        (("--rate", "fast"), "error: --rate 'fast': give events per unit of time"),
        (("--rate", "10/s", "--burst", "x5"), "error: --burst 'x5': give FACTORx:SECONDSs"),
        (("--rate", "10/s", "--region", "eu-west-1"), "error: --region 'eu-west-1'"),
        (("--rate", "10/s", "--record-ms", "nosuch=5"), "error: no worker named 'nosuch'"),
        (("--rate", "10/s", "--set", "nosuch.knob=1"), "error: --set nosuch.knob: no such knob"),
        (("--rate", "10/s", "--set", "relay.parallelization=11"), "error: --set relay."),
        (("--rate", "10/s", "--hot-key", "nosuch=0.1"), "error: --hot-key nosuch=: no worker"),
        (
            (
                "--hot-key",
                "0.1",
            ),
            "error: --rate is required, e.g. --rate 10000/s",
        ),
    ]:
        done = run(ROOT, *args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(said) and done.stderr.count("\n") == 1, done.stderr
