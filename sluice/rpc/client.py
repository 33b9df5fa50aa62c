"""``ApiClient``: call an API's operations by name, over Lambda Invoke or signed HTTP.

An app wraps it in a typed client of its own (``place_order(...)`` and so on). Refusals
raise the ``RefusedError`` subclass for their status, with the problem attached; throttles
are retried with capped exponential backoff and full jitter, then raise ``ThrottledError``.
Nothing else is retried: a crash may have happened after the write, so whether to call
again is the caller's decision (safe when it sent an idempotency key).

Over Lambda Invoke an idempotency key needs ``caller=``: the ARN of the IAM principal the
client calls as, which the key is scoped to (Invoke does not tell the function who called;
over HTTP the signature does, and ``caller`` is not sent).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.config import Config

from sluice.rpc.errors import ThrottledError, refused
from sluice.rpc.operations import BadPayload, Operations, caller_problem
from sluice.rpc.transport import HttpTransport, InvokeTransport, Transport
from sluice.rpc.types import Answer, Payload, Success
from sluice.sessions import botocore_session

_ABSENT: Any = object()
INVOKE_READ_TIMEOUT_S = 35
"""Longer than the API function's timeout, so a slow call is not cut off by the client."""


class ApiClient:
    """Calls the operations of one API through ``transport``."""

    def __init__(
        self,
        transport: Transport,
        operations: Operations,
        *,
        caller: str | None = None,
        attempts: int = 5,
        base_delay_s: float = 0.05,
        max_delay_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        wrong = caller_problem(caller) if caller is not None else None
        if wrong:
            raise ValueError(wrong)
        self.transport = transport
        self.operations = operations
        self.caller = caller
        self.attempts = attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.sleep = sleep

    @classmethod
    def over_invoke(
        cls,
        function_name: str,
        operations: Operations,
        *,
        session: Any = None,
        lambda_client: Any = None,
        endpoint_url: str | None = None,
        **options: Any,
    ) -> ApiClient:
        """Lambda Invoke on ``function_name`` (a name or ARN); ``endpoint_url`` for the sandbox.

        ``session`` is a boto3 or botocore session (default: botocore's own); pass
        ``lambda_client`` to use one you built. Pass ``caller=`` (your IAM principal's ARN)
        to send idempotency keys.
        """
        if lambda_client is None:
            lambda_client = _session(session).create_client(
                "lambda",
                endpoint_url=endpoint_url,
                config=Config(
                    retries={"total_max_attempts": 1},
                    read_timeout=INVOKE_READ_TIMEOUT_S,
                    connect_timeout=5,
                ),
            )
        return cls(InvokeTransport(lambda_client, function_name), operations, **options)

    @classmethod
    def over_http(
        cls,
        base_url: str,
        operations: Operations,
        *,
        session: Any = None,
        region: str | None = None,
        service: str = "execute-api",
        **options: Any,
    ) -> ApiClient:
        """SigV4-signed HTTP to ``base_url`` (the stage URL, or a function URL with
        ``service="lambda"``), with the session's credentials."""
        botocore_session = _session(session)
        credentials = botocore_session.get_credentials()
        if credentials is None:
            raise ValueError("no AWS credentials to sign with: configure the session's profile")
        where = region or botocore_session.get_config_variable("region")
        if not where:
            raise ValueError("no region to sign for: pass region=... or set AWS_DEFAULT_REGION")
        transport = HttpTransport(
            base_url, operations, credentials=credentials, region=where, service=service
        )
        return cls(transport, operations, **options)

    def call(
        self,
        op: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = _ABSENT,
        idempotency_key: str | None = None,
        correlation_id: str | None = None,
    ) -> Success:
        """Call ``op`` and return its success, or raise the typed error of its refusal."""
        try:
            self.operations.find(op)  # an unknown name fails here, before any request
        except BadPayload as exc:
            raise refused(exc.problem, op=op, correlation_id=None) from None
        payload: Payload = {"op": op}
        if params:
            payload["params"] = dict(params)
        if body is not _ABSENT:
            payload["body"] = body
        if idempotency_key is not None:
            payload["idempotency_key"] = idempotency_key
        if correlation_id is not None:
            payload["correlation_id"] = correlation_id
        if self.caller is not None:
            payload["caller"] = self.caller
        answer = self._send(payload)
        if answer["ok"] is False:
            raise refused(answer["problem"], op=op, correlation_id=answer["correlation_id"])
        return answer

    def _send(self, payload: Payload) -> Answer:
        for attempt in range(1, self.attempts + 1):
            try:
                return self.transport.send(payload)
            except ThrottledError as exc:
                if attempt == self.attempts:
                    raise ThrottledError(
                        f"{payload['op']}: still throttled after {attempt} attempts ({exc})"
                    ) from exc
                ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
                self.sleep(random.uniform(0, ceiling))
        raise AssertionError("unreachable")  # pragma: no cover


def _session(session: Any) -> Any:
    """A botocore session from a boto3 one, botocore's default when None."""
    if session is None:
        return botocore_session()
    return getattr(session, "_session", session)
