"""How ``ApiClient`` reaches the API: Lambda Invoke, or SigV4-signed HTTP to a gateway or URL.

Both transports answer the same ``Answer`` shape, so the client cannot tell them apart:
a refusal is an answer; a throttle raises ``ThrottledError`` (the client retries it) and a
crash raises ``FunctionCrashedError``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError
from botocore.httpsession import URLLib3Session

from sluice.rpc.errors import FunctionCrashedError, ThrottledError
from sluice.rpc.operations import Operations, problem
from sluice.rpc.types import Answer, Payload, Refusal, Success

THROTTLE_CODES = frozenset({"TooManyRequestsException", "ThrottlingException", "Throttling"})
THROTTLE_STATUSES = frozenset({429})


class Transport(Protocol):
    """Sends one payload and returns the answer (or raises a throttle or a crash)."""

    def send(self, payload: Payload) -> Answer:
        """One attempt."""
        ...


class InvokeTransport:
    """``lambda:InvokeFunction`` (RequestResponse) on the API function, through boto3.

    The client should not retry throttles itself (``ApiClient`` does): build it with
    ``Config(retries={"total_max_attempts": 1})``, as ``ApiClient.over_invoke`` does.
    """

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self.client = lambda_client
        self.function_name = function_name

    def send(self, payload: Payload) -> Answer:
        """Invoke once; ``FunctionError`` becomes ``FunctionCrashedError``."""
        try:
            response = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps(payload, separators=(",", ":")).encode(),
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in THROTTLE_CODES:
                raise ThrottledError(f"{self.function_name}: {code}") from exc
            raise
        raw = response["Payload"].read()
        doc = json.loads(raw) if raw else None
        if response.get("FunctionError"):
            found = doc if isinstance(doc, dict) else {}
            raise FunctionCrashedError(
                f"{self.function_name} crashed: {found.get('errorMessage', raw[:200])}",
                error_type=found.get("errorType"),
            )
        if not isinstance(doc, dict) or not isinstance(doc.get("ok"), bool):
            raise FunctionCrashedError(
                f"{self.function_name} answered something that is not an answer: {raw[:200]!r}"
            )
        answer: Answer = doc  # type: ignore[assignment]
        return answer


class HttpTransport:
    """The same calls as HTTP requests, signed with SigV4 (API Gateway: ``execute-api``;
    a function URL with ``AWS_IAM`` auth: ``lambda``)."""

    def __init__(
        self,
        base_url: str,
        operations: Operations,
        *,
        credentials: Any,
        region: str,
        service: str = "execute-api",
        timeout_s: int = 35,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.operations = operations
        self.credentials = credentials
        self.region = region
        self.service = service
        self.http = URLLib3Session(timeout=timeout_s)

    def send(self, payload: Payload) -> Answer:
        """One signed request; the response becomes an answer."""
        op = self.operations.find(payload["op"])
        params = {k: quote(v, safe="") for k, v in payload.get("params", {}).items()}
        headers = {"Content-Type": "application/json"}
        if "idempotency_key" in payload:
            headers[self.operations.idempotency_header] = payload["idempotency_key"]
        if "correlation_id" in payload:
            headers[self.operations.correlation_header] = payload["correlation_id"]
        data = json.dumps(payload["body"]).encode() if "body" in payload else None
        request = AWSRequest(
            method=op.method, url=self.base_url + op.target(params), data=data, headers=headers
        )
        SigV4Auth(self.credentials.get_frozen_credentials(), self.service, self.region).add_auth(
            request
        )
        response = self.http.send(request.prepare())
        status = response.status_code
        if status in THROTTLE_STATUSES:
            raise ThrottledError(f"{op.method} {op.path}: {status}")
        text = response.content.decode() if response.content else ""
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text
        cid = _header(response.headers, self.operations.correlation_header) or ""
        if status >= 500:
            raise FunctionCrashedError(f"{op.method} {op.path} answered {status}: {text[:200]}")
        if status >= 400:
            found = body if isinstance(body, dict) and "detail" in body else None
            return Refusal(
                ok=False,
                op=op.name,
                status=status,
                problem=found or problem(status, text),  # type: ignore[typeddict-item]
                correlation_id=cid,
            )
        headers_out = {k: str(v) for k, v in response.headers.items()}
        return Success(
            ok=True, op=op.name, status=status, body=body, headers=headers_out, correlation_id=cid
        )


def _header(headers: Any, name: str) -> str | None:
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if k.lower() == wanted), None)
