"""Serve a Lambda proxy handler over real HTTP, as API Gateway (REST, v1 events) would."""

from __future__ import annotations

import base64
import json
import queue
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sluice.local.function import ACCOUNT, LambdaContext
from sluice.local.isolation import isolate_powertools_routers
from sluice.local.logs import LogSink
from sluice.local.serving import LocalServer

ProxyHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
STAGE = "local"
MAX_PAYLOAD = 10 * 1024 * 1024
"""API Gateway's request payload limit."""
TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")


def proxy_event(
    method: str, target: str, headers: dict[str, list[str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    """An HTTP request -> an API Gateway REST (v1) proxy event."""
    url = urlsplit(target)
    query = parse_qs(url.query, keep_blank_values=True)
    content_type = (headers.get("Content-Type") or [""])[0]
    # API Gateway passes text through and base64-encodes the rest; text that is no UTF-8
    # goes as base64 too, so the handler sees every byte and judges them itself.
    is_text = not body or (content_type.startswith(TEXT_TYPES) and _is_utf8(body))
    now = time.time()
    agent = (headers.get("User-Agent") or [""])[0]
    return {
        "resource": url.path,
        "path": url.path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "sandbox",
            "resourcePath": url.path,
            "httpMethod": method,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{STAGE}{url.path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": "sandbox",
            "requestTimeEpoch": int(now * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "sourceIp": source_ip,
                "userAgent": agent,
                "accountId": ACCOUNT,
                "caller": None,
                "user": None,
                "userArn": None,
                "accessKey": None,
            },
            "domainName": "127.0.0.1",
            "apiId": "sandbox",
        },
        "body": (body.decode() if is_text else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and not is_text,
    }


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def _content_length(value: str | None) -> int | None:
    """The body's length in bytes (0 when absent), or None if the header is not one."""
    if value is None:
        return 0
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else None


class ApiServer(LocalServer):
    """A threaded HTTP server on 127.0.0.1 in front of a proxy handler.

    Each handler given is one execution environment: like a Lambda instance it serves one
    request at a time, so concurrency is the number of environments.
    """

    def __init__(
        self,
        handlers: list[ProxyHandler],
        sink: LogSink,
        *,
        region: str,
        prefix: str,
        port: int = 0,
    ) -> None:
        isolate_powertools_routers()  # environments are threads here, processes on Lambda
        self._environments: queue.SimpleQueue[ProxyHandler] = queue.SimpleQueue()
        for handler in handlers:
            self._environments.put(handler)
        self.sink = sink
        self.region = region
        self.prefix = prefix
        super().__init__(self._request_class(), port=port, name="api")

    @property
    def environments(self) -> queue.SimpleQueue[ProxyHandler]:
        """The free execution environments (take one per invocation, put it back after)."""
        return self._environments

    def call(self, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke the handler with a fresh context; a crash is a 502, as API Gateway answers."""
        context = LambdaContext(
            function_name=f"{self.prefix}-api",
            memory_limit_in_mb=256,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{self.prefix}-api",
            timeout_s=29,
        )
        handler = self._environments.get()  # a free execution environment: one request each
        try:
            return handler(event, context)
        except Exception as exc:
            self.sink.event(
                "api handler crashed",
                worker="api",
                correlation_id="-",
                level="ERROR",
                error=f"{type(exc).__name__}: {exc}",
            )
            body = {"message": "Internal server error"}
            return {
                "statusCode": 502,
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps(body),
            }
        finally:
            self._environments.put(handler)

    def _request_class(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                started = time.perf_counter()
                length = _content_length(self.headers.get("Content-Length"))
                if length is None:
                    self._refuse(400, "Content-Length must be a whole number of bytes")
                    return
                if length > MAX_PAYLOAD:
                    self._refuse(413, f"the body is over API Gateway's {MAX_PAYLOAD} bytes")
                    return
                body = self.rfile.read(length) if length else b""
                headers: dict[str, list[str]] = {}
                for key, value in self.headers.items():
                    headers.setdefault(key, []).append(value)
                event = proxy_event(self.command, self.path, headers, body, self.client_address[0])
                response = front.call(event)
                status = int(response.get("statusCode", 200))
                payload = response.get("body") or ""
                raw = (
                    base64.b64decode(payload)
                    if response.get("isBase64Encoded")
                    else payload.encode()
                )
                out = {**(response.get("headers") or {})}
                for key, values in (response.get("multiValueHeaders") or {}).items():
                    out[key] = values[-1]
                self.send_response(status)
                for key, value in out.items():
                    if key.lower() not in ("content-length", "connection"):
                        self.send_header(key, str(value))
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(raw)
                front.log(event, status, out, raw, started)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def __getattr__(self, name: str) -> Any:
                """Any other method goes to the API too, which answers it (405 or 404)."""
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def send_error(
                self, code: int, message: str | None = None, explain: str | None = None
            ) -> None:
                """http.server's own refusals (a malformed request line, headers too long...)
                as problem+json too, rather than its HTML page."""
                self._refuse(code, message or explain or "the request could not be read")

            def _refuse(self, status: int, detail: str) -> None:
                """A request the front cannot pass on: problem+json, and close."""
                title = HTTPStatus(status).phrase
                problem = {"title": title, "status": status, "detail": detail}
                raw = json.dumps(problem).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/problem+json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(raw)
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                """Requests are logged by the sandbox as structured lines instead."""

        return Request

    def log(
        self,
        event: dict[str, Any],
        status: int,
        headers: dict[str, Any],
        raw: bytes,
        started: float,
    ) -> None:
        """One structured line per request: method, path, status, correlation id, what it made."""
        lower = {k.lower(): str(v) for k, v in headers.items()}
        asked = {k.lower(): v for k, v in event["headers"].items()}
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        correlation = (
            lower.get("x-correlation-id")
            or asked.get("x-correlation-id")
            or doc.get("correlation_id")
            or "-"
        )
        self.sink.event(
            "api request",
            worker="api",
            correlation_id=str(correlation),
            method=event["httpMethod"],
            path=event["path"],
            status=status,
            resource_id=doc.get("id") or "-",
            location=lower.get("location", "-"),
            request_id=event["requestContext"]["requestId"],
            received_ts=event["requestContext"]["requestTimeEpoch"] / 1000,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            level="INFO" if status < 500 else "ERROR",
        )
