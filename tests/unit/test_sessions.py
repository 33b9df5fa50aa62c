"""Sessions share one loader of service models; credentials and region stay their own."""

from __future__ import annotations

from typing import Any

import boto3.session
import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

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
    files = type(shared_loader().file_loader)
    real = files.load_file

    def counting(self: Any, path: str) -> object:
        parsed.append(path)
        return real(self, path)

    monkeypatch.setattr(files, "load_file", counting)
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


@pytest.mark.parametrize("service", ["dynamodb", "sqs", "sns", "lambda"])
def test_the_shared_loader_reads_what_botocore_s_own_loader_reads(service: str) -> None:
    # fresh loaders: a client's endpoint resolver may change the data a loader cached
    ours, theirs = type(shared_loader())(file_loader=shared_loader().file_loader), Loader()
    for kind in ("service-2", "endpoint-rule-set-1", "paginators-1"):
        assert ours.load_service_model(service, kind) == theirs.load_service_model(service, kind)
    for name in ("endpoints", "partitions", "sdk-default-configuration", "_retry"):
        assert ours.load_data(name) == theirs.load_data(name)


def test_a_first_client_does_not_list_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a loader nothing was asked of yet, which must not walk every service's folder
    loader = type(shared_loader())(file_loader=shared_loader().file_loader)

    def listing(self: Loader, type_name: str) -> list[str]:
        raise AssertionError(f"listed every service for {type_name}")

    monkeypatch.setattr(Loader, "list_available_services", listing)
    session = botocore.session.get_session()
    session.register_component("data_loader", loader)
    client = session.create_client("dynamodb", region_name="eu-west-1")
    assert client.meta.service_model.service_name == "dynamodb"


def test_an_unknown_service_gets_botocore_s_own_error_naming_the_known_ones() -> None:
    with pytest.raises(UnknownServiceError, match=r"Valid service names are: .*dynamodb"):
        botocore_session().create_client("dynamodbb", region_name="eu-west-1")
