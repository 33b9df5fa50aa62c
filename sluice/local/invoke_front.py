"""Lambda's Invoke API on 127.0.0.1, for the sandbox's API function.

``POST /2015-03-31/functions/{name}/invocations`` as Lambda serves it, so boto3's Lambda
client (and ``sluice.rpc.ApiClient``) works against ``sluice up`` with only an endpoint URL:

- ``RequestResponse`` (the default) answers 200 with the handler's result; a handler that
  raised answers 200 with ``X-Amz-Function-Error: Unhandled`` and Lambda's error document;
- ``Event`` answers 202 and runs the invocation in the background; ``DryRun`` answers 204;
- when every execution environment is busy, 429 ``TooManyRequestsException``, as Lambda
  throttles at its concurrency limit (the environments are the HTTP front's, shared);
- an unknown function is 404 ``ResourceNotFoundException``; a body that is not JSON is 400
  ``InvalidRequestContentException``.

Requests are not authenticated (the sandbox trusts 127.0.0.1), as with moto.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from sluice.core import MalformedJsonError, parse_json
from sluice.local.function import ACCOUNT, LambdaContext
from sluice.local.http_front import ApiServer, ProxyHandler
from sluice.local.logs import LogSink
from sluice.local.serving import LocalServer

_INVOCATIONS = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[^:]+)(:.+)?$")


class InvokeServer(LocalServer):
    """The Invoke API for one function, run by the HTTP front's execution environments."""

    def __init__(
        self,
        front: ApiServer,
        function_name: str,
        sink: LogSink,
        *,
        region: str,
        timeout_s: int = 29,
        port: int = 0,
    ) -> None:
        self.front = front
        self.function_name = function_name
        self.sink = sink
        self.region = region
        self.timeout_s = timeout_s
        self.arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function_name}"
        super().__init__(self._request_class(), port=port, name="invoke")

    def resolve(self, given: str) -> bool:
        """Whether ``given`` (a name, an ARN, or ``name:qualifier``) is this function."""
        name = unquote(given)
        found = _ARN.match(name)
        if found:
            name = found.group("name")
        return name.split(":")[0] == self.function_name

    def invoke(self, event: Any) -> tuple[Any, str | None]:
        """Run the handler in a free environment: (result, None) or (error document, type).

        Raises ``queue.Empty`` when every environment is busy (the caller throttles).
        """
        handler: ProxyHandler = self.front.environments.get_nowait()
        context = LambdaContext(
            function_name=self.function_name,
            memory_limit_in_mb=256,
            invoked_function_arn=self.arn,
            timeout_s=self.timeout_s,
        )
        try:
            return handler(event, context), None
        except Exception as exc:
            error = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_exception(exc)[-3:],
            }
            return error, "Unhandled"
        finally:
            self.front.environments.put(handler)

    def log(self, event: Any, result: Any, failed: str | None, started: float) -> None:
        """One structured line per invocation, like the HTTP front's."""
        answer = result if isinstance(result, dict) else {}
        given = event if isinstance(event, dict) else {}
        correlation = answer.get("correlation_id") or given.get("correlation_id") or "-"
        self.sink.event(
            "api invoke",
            worker="api",
            correlation_id=str(correlation),
            op=str(given.get("op") or "-"),
            ok=answer.get("ok"),
            status=answer.get("status", "-"),
            function_error=failed or "-",
            error=answer.get("errorMessage", "-") if failed else "-",
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            level="ERROR" if failed else "INFO",
        )

    def _request_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                started = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                found = _INVOCATIONS.match(urlsplit(self.path).path)
                if not found:
                    self._error(404, "UnknownOperationException", f"no such API: {self.path}")
                    return
                if not server.resolve(found.group("name")):
                    name = unquote(found.group("name"))
                    self._error(404, "ResourceNotFoundException", f"Function not found: {name}")
                    return
                try:
                    event = parse_json(raw) if raw.strip() else {}
                except MalformedJsonError as exc:
                    message = f"Could not parse request body into json: {exc.detail}"
                    self._error(400, "InvalidRequestContentException", message)
                    return
                kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
                if kind == "DryRun":
                    self._send(204, b"", {})
                    return
                if kind == "Event":
                    threading.Thread(target=self._background, args=(event,), daemon=True).start()
                    self._send(202, b"", {})
                    return
                try:
                    result, failed = server.invoke(event)
                except queue.Empty:
                    self._error(429, "TooManyRequestsException", "Rate Exceeded.")
                    return
                headers = {"X-Amz-Executed-Version": "$LATEST"}
                if failed:
                    headers["X-Amz-Function-Error"] = failed
                self._send(200, json.dumps(result, default=str).encode(), headers)
                server.log(event, result, failed, started)

            def _background(self, event: Any) -> None:
                started = time.perf_counter()
                while True:
                    try:
                        result, failed = server.invoke(event)
                        break
                    except queue.Empty:  # Lambda queues async events until capacity frees
                        time.sleep(0.01)
                server.log(event, result, failed, started)

            def _error(self, status: int, code: str, message: str) -> None:
                body = json.dumps({"__type": code, "Type": "User", "message": message})
                self._send(status, body.encode(), {"x-amzn-ErrorType": code})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-RequestId", self.headers.get("amz-sdk-invocation-id", ""))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Invocations are logged by the sandbox as structured lines instead."""

        return Request
