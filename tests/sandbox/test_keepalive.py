"""The moto server keeps connections alive, as AWS does, and frames every answer by length.

werkzeug's own server closed the connection after each response; one request per TCP
connection cost a connect, an accept and a server thread per AWS call.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import boto3
import pytest

from sluice.local.server import MotoServer

pytestmark = pytest.mark.sandbox
REGION = "eu-west-1"
SIGNED = (
    "AWS4-HMAC-SHA256 Credential=k/20260101/eu-west-1/{}/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    running = MotoServer(REGION).start()
    try:
        yield running
    finally:
        running.stop()


def _dynamodb(
    connection: http.client.HTTPConnection, target: str, body: object
) -> tuple[int, dict[str, str], bytes]:
    connection.request(
        "POST",
        "/",
        body=json.dumps(body),
        headers={
            "X-Amz-Target": f"DynamoDB_20120810.{target}",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": SIGNED.format("dynamodb"),
        },
    )
    answer = connection.getresponse()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def test_many_requests_share_one_connection(server: MotoServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.connect()
    socket = connection.sock
    status, headers, body = _dynamodb(connection, "ListTables", {})
    assert status == 200 and json.loads(body) == {"TableNames": []}
    assert headers.get("connection", "").lower() != "close"
    assert headers["content-length"] == str(len(body))
    # an error answer (400) is framed the same way, and the connection stays
    status, headers, body = _dynamodb(connection, "DescribeTable", {"TableName": "absent"})
    assert status == 400 and b"ResourceNotFoundException" in body
    for _ in range(3):
        assert _dynamodb(connection, "ListTables", {})[0] == 200
    assert connection.sock is socket, "the client had to reconnect"
    connection.close()


def test_a_body_the_app_ignores_does_not_leak_into_the_next_request(server: MotoServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    # S3's ListBuckets reads no body; the bytes sent with it must not be read as a request
    connection.request(
        "GET",
        "/",
        body=b"GET / HTTP/1.1\r\n\r\n" * 4,
        headers={"Authorization": SIGNED.format("s3")},
    )
    answer = connection.getresponse()
    assert answer.status == 200 and b"ListAllMyBucketsResult" in answer.read()
    assert _dynamodb(connection, "ListTables", {})[0] == 200
    connection.close()


def test_a_head_answer_keeps_the_objects_length(server: MotoServer) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )
    s3.create_bucket(Bucket="keepalive", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="keepalive", Key="k", Body=b"x" * 1234)
    assert s3.head_object(Bucket="keepalive", Key="k")["ContentLength"] == 1234
    assert s3.get_object(Bucket="keepalive", Key="k")["Body"].read() == b"x" * 1234
    # a body larger than one write's share goes out after its head, whole
    large = bytes(range(256)) * 1024
    s3.put_object(Bucket="keepalive", Key="large", Body=large)
    assert s3.get_object(Bucket="keepalive", Key="large")["Body"].read() == large


@pytest.mark.parametrize("service", ["dynamodb", "s3"])
def test_each_answer_names_its_date_and_server_once(server: MotoServer, service: str) -> None:
    # the handler writes Date and Server unless the app gave its own: never twice
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": SIGNED.format(service)}
    if service == "dynamodb":
        headers |= {"X-Amz-Target": "DynamoDB_20120810.ListTables"}
        headers |= {"Content-Type": "application/x-amz-json-1.0"}
    connection.request("POST" if service == "dynamodb" else "GET", "/", body=b"{}", headers=headers)
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 200
    assert len(answer.msg.get_all("Date") or []) == 1
    assert len(answer.msg.get_all("Server") or []) == 1
    assert len(answer.msg.get_all("Content-Length") or []) == 1
    connection.close()
