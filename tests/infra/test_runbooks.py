"""Every alarm's description ends with the first command to run, and that command works:
a `sluice` command the CLI accepts, naming a DLQ that exists, or an `aws` command naming a
log group the stack creates."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from typer.testing import CliRunner

from sluice.cli import build as cli
from tests.infra.conftest import TOPOLOGY, Synth

pytestmark = pytest.mark.infra
MARKER = "First run: "


def first_commands(synth: Synth) -> dict[str, list[str]]:
    """Each alarm's first command, split into words, by alarm name."""
    found: dict[str, list[str]] = {}
    for alarm in synth.resources("AWS::CloudWatch::Alarm").values():
        props: dict[str, Any] = alarm["Properties"]
        description = str(props.get("AlarmDescription", ""))
        assert MARKER in description, props["AlarmName"]
        found[props["AlarmName"]] = shlex.split(description.rsplit(MARKER, 1)[1])
    return found


def test_every_sluice_first_command_is_one_the_cli_accepts(synth: Synth) -> None:
    runner = CliRunner()
    dlqs = {dlq.name for dlq in TOPOLOGY.dlqs()}
    checked = 0
    for alarm, words in first_commands(synth).items():
        if words[0] != "sluice":
            continue
        # the command and every option parse (--help answers only once they do) ...
        done = runner.invoke(cli(), [*words[1:], "--help"])
        assert done.exit_code == 0, (alarm, words, done.output)
        # ... and the DLQ it names is one of the pipeline's
        if words[1:3] == ["dlq", "show"]:
            assert words[3] in dlqs, (alarm, words)
        checked += 1
    assert checked == 2 * len(TOPOLOGY.dlqs())  # two per DLQ: depth and age


def test_every_aws_first_command_names_what_the_stack_has(synth: Synth) -> None:
    groups = {
        str(g["Properties"].get("LogGroupName"))
        for g in synth.resources("AWS::Logs::LogGroup").values()
    }
    clusters = {
        str(c["Properties"].get("ClusterName"))
        for c in synth.resources("AWS::ECS::Cluster").values()
    }
    services = {
        str(s["Properties"].get("ServiceName"))
        for s in synth.resources("AWS::ECS::Service").values()
    }
    for alarm, words in first_commands(synth).items():
        if words[0] != "aws":
            continue
        assert words[1:3] in (
            ["logs", "tail"],
            ["lambda", "get-account-settings"],
            ["ecs", "describe-services"],
        ), words
        if words[1:3] == ["logs", "tail"]:
            assert words[3] in groups, (alarm, words)
        if words[1:3] == ["ecs", "describe-services"]:
            assert words[4] in clusters and words[6] in services, (alarm, words)
