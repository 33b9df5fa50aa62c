"""Every handler imports and runs one sample event with only what its function will have.

The code asset, the layer and the runtime's own boto3/botocore (here: this environment's
copies of exactly the packages the Python Lambda runtime provides) are the whole
``sys.path`` of a fresh, isolated interpreter; AWS is a moto server provisioned from the
topology. With ``SLUICE_TRACING`` on, the X-Ray SDK must come from the layer.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore
import pytest
from moto.server import ThreadedMotoServer

from app import APP
from events import ORDER_PLACED
from sluice.local.provision import provision
from sluice.runtime import Clients, Source, WorkerSpec
from sluice.runtime.telemetry import TRACING_ENV
from sluice.topology import Topology
from tests.infra.conftest import ROOT, Synth
from tests.infra.test_assets import code_dir, layer_dir

pytestmark = pytest.mark.infra

# What the Python 3.12 Lambda runtime provides beyond the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
MOTO_ACCOUNT = "123456789012"
REGION = "eu-west-1"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
SAMPLES = ROOT / "events" / "samples"
TOPOLOGY = Topology(APP)


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with links to exactly the runtime's packages."""
    folder = tmp_path_factory.mktemp("runtime")
    site = Path(botocore.__file__).parent.parent
    for name in RUNTIME_PACKAGES:
        found = site / name if (site / name).exists() else site / f"{name}.py"
        assert found.exists(), name
        (folder / found.name).symlink_to(found)
    assert Path(boto3.__file__).parent.parent == site
    return folder


@pytest.fixture(scope="module")
def layer(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer as this interpreter can load it. Its compiled modules are built for Lambda's
    arm64 Python 3.12 (tests/infra/test_assets.py checks their tags), so a package that has
    some, and that this environment holds at the very same version, comes from here (msgspec).
    Others stay the layer's (wrapt falls back to pure Python)."""
    built = layer_dir(synth) / "python"
    folder = tmp_path_factory.mktemp("layer")
    site = Path(pytest.__file__).parent.parent
    here = set()
    for package in built.iterdir():
        if any(package.rglob("*.so")):
            here |= {
                dist.name.split("-")[0]
                for dist in built.glob(f"{package.name}-*.dist-info")
                if (site / dist.name).is_dir()
            }
    assert "msgspec" in here, "the layer's msgspec is not this environment's version"
    for entry in built.iterdir():
        (folder / entry.name).symlink_to(site / entry.name if entry.name in here else entry)
    return folder


@pytest.fixture(scope="module")
def aws() -> Iterator[str]:
    """A moto server with the reference app's topology; its endpoint URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    provision(Clients(session, endpoint_url=url), TOPOLOGY)
    yield url
    server.stop()


def event_for(spec: WorkerSpec) -> dict[str, Any]:
    """A sample event as the worker's event source would deliver it here."""
    if spec.source is Source.STREAM:
        event: dict[str, Any] = json.loads((SAMPLES / "dynamodb_insert.json").read_text())
        return event
    sample = "sqs_fifo.json" if spec.source.is_fifo else "sqs_sns_wrapped.json"
    if not spec.source.is_fifo and not spec.accepts(ORDER_PLACED):  # what a schedule fires
        sample = "sqs_scheduled.json"
    text = (SAMPLES / sample).read_text()
    # a slot's id is fixed; a UUID in its place lets ``fresh`` make each run a new event
    event = json.loads(SLOT_ID.sub(f"schedule:\\1:{uuid.uuid4()}", text))
    queue = TOPOLOGY.queues(spec).queue
    for record in event["Records"]:
        record["eventSourceARN"] = f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:{queue}"
    return event


SLOT_ID = re.compile(r"schedule:([a-z0-9_-]+):\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    """The event with new ids, so no run is a duplicate of another (idempotency)."""
    text = json.dumps(event)
    renamed = {found: str(uuid.uuid4()) for found in set(UUID.findall(text))}
    fresh_event: dict[str, Any] = json.loads(UUID.sub(lambda m: renamed[m.group(0)], text))
    return fresh_event


def run(
    layer: Path,
    synth: Synth,
    runtime: Path,
    url: str,
    handler: str,
    event: dict[str, Any],
    *,
    tracing: bool,
) -> dict[str, Any]:
    env = {
        "PATH": os.environ["PATH"],
        "AWS_ENDPOINT_URL": url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "handler-run",
        "_X_AMZN_TRACE_ID": TRACE_HEADER,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "POWERTOOLS_METRICS_NAMESPACE": "Sluice",
        **TOPOLOGY.worker_environment(f"arn:aws:sns:{REGION}:{MOTO_ACCOUNT}:{TOPOLOGY.topic}"),
        **({TRACING_ENV: "true"} if tracing else {}),
    }
    command = [sys.executable, "-I", "-S", str(Path(__file__).parent / "handler_run.py")]
    command += [str(code_dir(synth)), str(layer), str(runtime), handler]
    command.append(json.dumps(fresh(event)))
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("tracing", [False, True], ids=["plain", "tracing"])
@pytest.mark.parametrize("name", [w.spec.name for w in APP.registry])
def test_each_worker_runs_a_sample_event_with_only_its_function_s_packages(
    layer: Path, synth: Synth, runtime_dir: Path, aws: str, name: str, tracing: bool
) -> None:
    spec = APP.registry.get(name).spec
    result = run(
        layer, synth, runtime_dir, aws, spec.handler_path, event_for(spec), tracing=tracing
    )
    assert result["answer"] == {"batchItemFailures": []}
    # a batch worker takes the whole batch at once: no per-record subsegment
    assert ("aws_xray_sdk" in result["modules"]) is (tracing and not spec.batch)


@pytest.mark.parametrize("tracing", [False, True], ids=["plain", "tracing"])
def test_the_api_answers_a_sample_request(
    layer: Path, synth: Synth, runtime_dir: Path, aws: str, tracing: bool
) -> None:
    assert APP.api is not None
    event = json.loads((SAMPLES / "apigw_rest_v1.json").read_text())
    result = run(layer, synth, runtime_dir, aws, APP.api.handler, event, tracing=tracing)
    assert 200 <= result["answer"]["statusCode"] < 500, result["answer"]


def test_the_api_answers_a_direct_invoke_payload_from_its_asset(
    layer: Path, synth: Synth, runtime_dir: Path, aws: str
) -> None:
    # GIVEN the deployed code asset WHEN the API's entry gets a payload, not a proxy event
    assert APP.api is not None
    payload = {"op": "get_order", "params": {"order_id": "ord-nowhere"}, "correlation_id": "c-9"}
    result = run(layer, synth, runtime_dir, aws, APP.api.handler, payload, tracing=False)
    # THEN it answers with the route's problem (the table is reached: a 404, not a crash)
    assert result["answer"]["ok"] is False, result["answer"]
    assert result["answer"]["problem"]["detail"] == "no order 'ord-nowhere'"
    assert result["answer"]["correlation_id"] == "c-9"
