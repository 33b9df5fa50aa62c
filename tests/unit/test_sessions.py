"""Sessions share one loader of service models; credentials and region stay their own."""

from __future__ import annotations

import boto3.session
import pytest
from botocore.loaders import JSONFileLoader

from sluice.runtime import Clients
from sluice.sessions import botocore_session, shared_loader


def _boto3(region: str, key: str) -> boto3.session.Session:
    return boto3.session.Session(
        botocore_session=botocore_session(),
        aws_access_key_id=key,
        aws_secret_access_key="secret",
        region_name=region,
    )


def test_a_model_parsed_for_one_session_serves_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    botocore_session().create_client("sqs", region_name="eu-west-1")
    parsed: list[str] = []
    real = JSONFileLoader.load_file

    def counting(self: JSONFileLoader, path: str) -> object:
        parsed.append(path)
        return real(self, path)

    monkeypatch.setattr(JSONFileLoader, "load_file", counting)
    client = botocore_session().create_client("sqs", region_name="eu-west-1")
    assert client.meta.service_model.service_name == "sqs"
    assert parsed == [], "the second session read the model files again"


def test_each_session_keeps_its_own_region_and_credentials() -> None:
    first, second = _boto3("eu-west-1", "first"), _boto3("us-east-2", "second")
    assert first._session.get_component("data_loader") is shared_loader()
    assert second._session.get_component("data_loader") is shared_loader()
    assert first.client("sqs").meta.region_name == "eu-west-1"
    assert second.client("sqs").meta.region_name == "us-east-2"
    assert [s.get_credentials().access_key for s in (first, second)] == ["first", "second"]  # type: ignore[union-attr]


def test_boto3_sessions_do_not_grow_the_search_paths() -> None:
    _boto3("eu-west-1", "a")
    before = list(shared_loader().search_paths)
    for _ in range(5):
        _boto3("eu-west-1", "a")
    assert shared_loader().search_paths == before
    assert len(set(before)) == len(before)


def test_clients_default_to_the_shared_loader() -> None:
    assert Clients().session.get_component("data_loader") is shared_loader()
