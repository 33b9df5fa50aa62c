"""The code asset ships exactly the runtime packages; the layer is pip-built; the CLI synths."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from aws_cdk import App

from app import APP
from sluice.cdk import build
from sluice.cdk.bundling import REQUIREMENTS, shipped_files
from sluice.runtime import Runtime
from tests.conftest import needs_tool
from tests.infra.conftest import ROOT, TEST_APP, Synth

pytestmark = pytest.mark.infra


def asset_dir(synth: Synth, s3_key: str) -> Path:
    return synth.outdir / f"asset.{s3_key.removesuffix('.zip')}"


def code_dir(synth: Synth) -> Path:
    functions = synth.functions().values()
    keys = {f["Properties"]["Code"]["S3Key"] for f in functions}
    assert len(keys) == 1, "every function runs from the one code asset"
    return asset_dir(synth, keys.pop())


def layer_dir(synth: Synth) -> Path:
    (layer,) = synth.resources("AWS::Lambda::LayerVersion").values()
    return asset_dir(synth, layer["Properties"]["Content"]["S3Key"])


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_code_asset_holds_exactly_the_runtime_packages(synth: Synth) -> None:
    code = code_dir(synth)
    assert {p.name for p in code.iterdir()} == {"events", "producers", "workers", "sluice"}
    assert {p.name for p in (code / "sluice").iterdir()} == {
        "__init__.py",
        "core",
        "publisher",
        "runtime",
        "sessions.py",
        "rpc",  # the app declares an API
    }
    assert files_under(code) == {str(p) for p in shipped_files(TEST_APP)}
    assert not any(f.endswith(".pyc") or "samples" in f for f in files_under(code))
    # The samples are there to leave out: the check above is not vacuous.
    assert list((ROOT / "events" / "samples").glob("*.json"))


def test_every_handler_the_template_names_is_in_the_code_asset(synth: Synth) -> None:
    code = code_dir(synth)
    assert APP.api is not None
    real = {f"sluice-{w.spec.name}" for w in APP.registry} | {f"sluice-{APP.api.name}"}
    for function in synth.functions().values():
        props = function["Properties"]
        if props["FunctionName"] not in real:
            continue  # the test-declared workers live in tests/, never shipped
        module = props["Handler"].rsplit(".", 1)[0].replace(".", "/")
        assert (code / f"{module}.py").is_file() or (code / module / "__init__.py").is_file()


def test_layer_is_the_pinned_requirements_built_for_the_lambda_platform(synth: Synth) -> None:
    layer = layer_dir(synth) / "python"
    assert (layer / "aws_lambda_powertools" / "__init__.py").is_file()
    pins = [line for line in REQUIREMENTS.read_text().splitlines() if "==" in line]
    for pin in pins:
        name, version = pin.split("==")
        assert (layer / f"{name.replace('-', '_')}-{version}.dist-info").is_dir(), pin
    assert not (layer / "boto3").exists() and not (layer / "botocore").exists()
    assert not list(layer.rglob("__pycache__"))
    # Wheels only: pure ones, or built for CPython 3.12 on Linux arm64 (a glibc the
    # runtime's 2.34 satisfies), as each wheel's own tags say.
    tags = {
        tag.removeprefix("Tag: ").strip()
        for wheel in layer.glob("*.dist-info/WHEEL")
        for tag in wheel.read_text().splitlines()
        if tag.startswith("Tag: ")
    }
    compiled = {t for t in tags if not t.endswith("-none-any")}
    assert compiled, "wrapt ships compiled"
    for tag in compiled:
        python, abi, platform = tag.split("-")
        assert (python, abi) == ("cp312", "cp312"), tag
        assert platform.endswith("_aarch64") and platform.startswith("manylinux"), tag
        glibc = re.match(r"manylinux_2_(\d+)_", platform)
        assert platform == "manylinux2014_aarch64" or (glibc and int(glibc[1]) <= 34), tag
    for module in layer.rglob("*.so"):
        assert "aarch64" in module.name and "cpython-312" in module.name, module


def test_prefix_context_must_be_a_valid_name_start() -> None:
    with pytest.raises(ValueError, match="lowercase letters"):
        build(App(context={"prefix": "Bad_Prefix"}), TEST_APP)


@needs_tool(
    not (ROOT / "node_modules" / ".bin" / "cdk").exists() or not shutil.which("npx"),
    "the CDK CLI (npx cdk), which `make install` installs with npm",
)
def test_npx_cdk_synth_works_offline_through_cdk_json(synth: Synth, tmp_path: Path) -> None:
    # GIVEN the layer cache the session's synth filled, and no network at all
    env = {
        **os.environ,
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "npm_config_offline": "true",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "XDG_CACHE_HOME": str(ROOT / ".cache"),
        "npm_config_cache": str(ROOT / ".cache" / "npm"),
    }
    # WHEN the CLI synthesizes through cdk.json, with another prefix from the context
    command = ["npx", "--no-install", "cdk", "synth", "--quiet", "--no-notices"]
    command += ["-c", "prefix=sluice-dev", "-o", str(tmp_path)]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    # THEN it wrote the stack, named by that prefix, for the real registry only
    assert done.returncode == 0, done.stderr[-3000:]
    template = json.loads((tmp_path / "Sluice.template.json").read_text())
    names = {
        r["Properties"]["FunctionName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "FunctionName" in r["Properties"]
    }
    on_lambda = {w.spec.name for w in APP.registry if w.spec.runtime is Runtime.LAMBDA}
    assert names == {f"sluice-dev-{name}" for name in on_lambda} | {"sluice-dev-api"}
    services = {
        r["Properties"]["ServiceName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ECS::Service"
    }
    # the container worker's image asset is staged by `cdk synth`, with no docker
    assert services == {f"sluice-dev-{w.spec.name}" for w in APP.registry} - {
        f"sluice-dev-{name}" for name in on_lambda
    }
    alarms = {
        r["Properties"]["AlarmName"]: r["Properties"]["AlarmDescription"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert alarms["sluice-dev-inventory-dlq"].endswith(
        "First run: sluice dlq show sluice-dev-inventory-dlq --prefix sluice-dev"
    )
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [p["conclusion"] for p in report["pluginReports"]] == ["success"]
    # a second prefix is a second CloudFormation stack, independent of `Sluice`
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["artifacts"]["Sluice"]["properties"]["stackName"] == "Sluice-sluice-dev"
    # AND the account prerequisite, as its own stack
    assert (tmp_path / "SluiceAccount.template.json").is_file()
