"""The path check on one template, and its command line for a project made elsewhere.

``python -m tests.infra.path_check PROJECT OUTDIR`` loads the project's app (in a fresh
process: its ``app`` module would clash with the reference app's), synthesizes it and
prints what the check found as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App as CdkApp

from sluice.app import load_app
from sluice.cdk import build
from sluice.cdk.paths import Paths
from sluice.cdk.policy import Template, decide, unused_grants
from sluice.topology import Topology
from tests.projects import sluice_new


def check(raw: dict[str, Any], topology: Topology) -> list[str]:
    """Every way the stack's paths are wrong: refused calls, allowed look-alikes, unused grants."""
    t = Template(raw)
    paths = Paths(t, topology)
    wrong = []
    for path in paths.everything():
        wrong += [f"refused: {path.name}: {r.action}" for r in path.allowed if not decide(t, r)]
        wrong += [
            f"allowed: {path.name}: {r.action} {dict(r.context)}"
            for r in path.denied
            if decide(t, r)
        ]
    for function in [*paths.functions(), *paths.schedule_roles()]:
        wrong += [
            f"refused: {function.function}: {r.action} on {r.resource}"
            for r in function.calls
            if not decide(t, r)
        ]
        unused = unused_grants(t, function.role_arn, function.calls)
        wrong += [f"unused: {function.function}: {u}" for u in unused]
    return wrong


def kinds_of_paths(raw: dict[str, Any], topology: Topology) -> list[str]:
    """Which kinds of path the stack has (each must be checked somewhere)."""
    paths = Paths(Template(raw), topology)
    found = {"alarm" for _ in paths.alarms()} | {"subscription" for _ in paths.subscriptions()}
    found |= {"failure notice" for _ in paths.failure_notices()}
    found |= {"direct caller" for _ in paths.direct_callers()}
    found |= {"schedule" for _ in paths.schedules()}
    return sorted(found | {"function" for _ in paths.functions()})


ROOT = Path(__file__).resolve().parents[2]


def new_project(where: Path) -> Path:
    """A project made by ``sluice new`` in ``where``/acme."""
    return sluice_new(where / "acme")


def check_elsewhere(project: Path, outdir: Path) -> dict[str, Any]:
    """Synthesize ``project`` into ``outdir`` and check it, in a process of its own."""
    # the layer cache is shared with the reference app's: no second pip run
    (project / ".cache" / "infra").mkdir(parents=True)
    (project / ".cache" / "infra" / "layer").symlink_to(ROOT / ".cache" / "infra" / "layer")
    checked = subprocess.run(
        [sys.executable, "-m", "tests.infra.path_check", str(project), str(outdir)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert checked.returncode == 0, checked.stderr[-3000:]
    result: dict[str, Any] = json.loads(checked.stdout.splitlines()[-1])
    return result


def main(project: Path, outdir: Path) -> dict[str, Any]:
    """Synthesize the project's app and check it."""
    app = load_app(project)
    cdk_app = CdkApp(outdir=str(outdir))
    stack = build(cdk_app, app)
    cdk_app.synth()
    raw = json.loads((outdir / f"{stack.artifact_id}.template.json").read_text())
    topology = Topology(app)
    return {"kinds": kinds_of_paths(raw, topology), "wrong": check(raw, topology)}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
