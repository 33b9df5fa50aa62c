"""A container worker (``runtime="container"``): a Fargate service, not a function.

GIVEN the test worker ``shipping`` declared with ``runtime="container"``, THEN the template
has its queues, an arm64 Fargate service running ``sluice work shipping``, a target
tracking policy on backlog per task aimed from its declared throughput, a task role with
exactly its grants, its alarms and dashboard row, and no function or event source mapping.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sluice.cdk import defaults
from sluice.cdk.container_worker import ContainerWorker, fargate_size
from sluice.runtime import Runtime
from tests.infra import path_check
from tests.infra.conftest import REGISTRY, TOPOLOGY, Synth
from tests.infra.expect import expected_grants, role_grants

pytestmark = pytest.mark.infra

CONTAINERS = [s for s in REGISTRY.specs if s.runtime is Runtime.CONTAINER]
SPEC = REGISTRY.get("shipping").spec


def one(synth: Synth, kind: str, **properties: Any) -> tuple[str, dict[str, Any]]:
    logical = synth.logical_id(kind, **properties)
    return logical, synth.resources(kind)[logical]["Properties"]


def test_the_test_app_has_a_container_worker() -> None:
    assert [s.name for s in CONTAINERS] == ["receipts", "shipping"]


def test_the_service_runs_sluice_work_on_arm64_fargate_from_the_dockerfile(synth: Synth) -> None:
    _, service = one(synth, "AWS::ECS::Service", ServiceName="sluice-shipping")
    assert service["LaunchType"] == "FARGATE"
    assert service["DesiredCount"] == SPEC.min_tasks
    task_id = service["TaskDefinition"]["Ref"]
    task = synth.resources("AWS::ECS::TaskDefinition")[task_id]["Properties"]
    assert task["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    assert (int(task["Cpu"]), int(task["Memory"])) == fargate_size(SPEC.memory_mb)
    (container,) = task["ContainerDefinitions"]
    assert container["Command"] == ContainerWorker.command(SPEC)
    assert container["Command"][:3] == ["sluice", "work", "shipping"]
    assert container["StopTimeout"] == defaults.CONTAINER_STOP_TIMEOUT.to_seconds()
    assert "sluice.container.health" in container["HealthCheck"]["Command"]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["SLUICE_QUEUE_URL"] == {"Ref": synth.queue_id(TOPOLOGY.queues(SPEC).queue)}
    assert env["POWERTOOLS_SERVICE_NAME"] == "shipping"
    # the image is an asset staged at synth from the project's Dockerfile (no docker ran)
    assert "dkr.ecr" in str(container["Image"])
    (image,) = [a for a in synth_assets(synth) if a["source"].get("dockerFile")]
    assert image["source"]["dockerFile"] == defaults.CONTAINER_DOCKERFILE
    assert image["source"]["platform"] == "linux/arm64"


def synth_assets(synth: Synth) -> list[dict[str, Any]]:
    (manifest,) = synth.outdir.glob(f"{synth.stack_id}.assets.json")
    return list(json.loads(manifest.read_text())["dockerImages"].values())


def test_it_scales_on_backlog_per_task_towards_a_target_from_its_throughput(
    synth: Synth,
) -> None:
    _, policy = one(
        synth,
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        PolicyName="sluice-shipping-backlog-per-task",
    )
    assert policy["PolicyType"] == "TargetTrackingScaling"
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == SPEC.throughput * defaults.CONTAINER_BACKLOG_SECONDS
    queries = {q["Id"]: q for q in config["CustomizedMetricSpecification"]["Metrics"]}
    assert queries["backlog"]["Expression"] == "visible / IF(running > 0, running, 1)"
    assert queries["visible"]["MetricStat"]["Metric"]["MetricName"] == (
        "ApproximateNumberOfMessagesVisible"
    )
    assert queries["running"]["MetricStat"]["Metric"]["MetricName"] == "RunningTaskCount"
    targets = synth.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    target = targets[policy["ScalingTargetId"]["Ref"]]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (SPEC.min_tasks, SPEC.max_tasks)
    policies = synth.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    assert len(list(policies)) == len(CONTAINERS), "one policy each: no CPU scaling"


def test_the_task_role_holds_exactly_what_its_declaration_implies(synth: Synth) -> None:
    _, service = one(synth, "AWS::ECS::Service", ServiceName="sluice-shipping")
    task = synth.resources("AWS::ECS::TaskDefinition")[service["TaskDefinition"]["Ref"]]
    role_id = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    assert role_grants(synth, role_id) == expected_grants(synth, SPEC)


def test_it_has_its_alarms_and_dashboard_row_and_no_function(synth: Synth) -> None:
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
    }
    names = TOPOLOGY.queues(SPEC)
    assert {names.dlq, names.subscription_dlq} <= set(alarms)
    assert alarms["sluice-shipping-queue-age"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    stranded = alarms["sluice-shipping-no-tasks"]
    assert (
        "describe-services --cluster sluice-workers --services sluice-shipping"
        in (stranded["AlarmDescription"])
    )
    assert any("RunningTaskCount" in str(m) for m in stranded["Metrics"])
    assert "sluice-shipping-errors" not in alarms
    functions = {f["Properties"]["FunctionName"] for f in synth.functions().values()}
    assert "sluice-shipping" not in functions
    queue = {"Fn::GetAtt": [synth.queue_id(names.queue), "Arn"]}
    mappings = synth.resources("AWS::Lambda::EventSourceMapping").values()
    assert all(m["Properties"].get("EventSourceArn") != queue for m in mappings)
    (board,) = synth.resources("AWS::CloudWatch::Dashboard").values()
    assert "shipping: tasks and backlog" in str(board["Properties"]["DashboardBody"])


def test_the_path_check_covers_the_task_role(synth: Synth) -> None:
    # GIVEN the task role without the visibility heartbeat's grant
    broken = copy.deepcopy(synth.raw)
    for resource in broken["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else []
            if "sqs:ChangeMessageVisibility" in actions and "shipping" in str(
                resource["Properties"]["Roles"]
            ):
                actions.remove("sqs:ChangeMessageVisibility")
    # THEN the check refuses the call sluice work makes
    wrong = path_check.check(broken, synth.topology)
    assert "refused: sluice-shipping: sqs:ChangeMessageVisibility on" in " ".join(wrong)


def test_a_new_projects_worker_moves_to_a_container_by_one_declaration(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # GIVEN a project made by `sluice new`, with its Dockerfile
    project = path_check.new_project(tmp_path_factory.mktemp("new-container"))
    assert (project / "Dockerfile").is_file() and (project / ".dockerignore").is_file()
    # WHEN one line of the words worker's declaration changes
    words = project / "workers" / "words.py"
    source = words.read_text()
    assert '    # runtime="container",' in source
    words.write_text(source.replace('    # runtime="container",', '    runtime="container",'))
    outdir = tmp_path_factory.mktemp("new-container.out")
    # THEN it synthesizes (no docker), as a Fargate service, every path allowed and no more
    assert path_check.check_elsewhere(project, outdir)["wrong"] == []
    (template,) = outdir.glob("*.template.json")
    resources = json.loads(template.read_text())["Resources"].values()
    services = [
        r["Properties"]["ServiceName"] for r in resources if r["Type"] == "AWS::ECS::Service"
    ]
    functions = [
        r["Properties"].get("FunctionName", "")
        for r in resources
        if r["Type"] == "AWS::Lambda::Function"
    ]
    assert [s.rsplit("-", 1)[-1] for s in services] == ["words"]
    assert not any(f.endswith("-words") for f in functions)
