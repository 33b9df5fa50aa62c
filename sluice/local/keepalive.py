"""moto's request handler, with HTTP/1.1 keep-alive (imported only by the moto child).

werkzeug's development server closes the connection after every response, so each AWS
call of the sandbox paid a TCP connect (and botocore's reconnect), an accept and a new
server thread. Real AWS endpoints keep connections alive, and so does this handler.

werkzeug closes on purpose: after a response it drains whatever the client sent beyond the
body, which on a kept-alive connection would swallow the next request. This handler reads
exactly ``Content-Length`` bytes before calling the app, so nothing is left to drain, and
writes the whole response with its length. A request it cannot frame that way (chunked, or
``Expect: 100-continue``) goes to werkzeug's own path, and that connection closes; so does
one whose client asked to close, or whose app failed, and the answer says so.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

log = logging.getLogger(__name__)

IDLE_S = 300
"""An idle kept-alive connection closes after this long (each one holds a server thread)."""
_NO_BODY = frozenset({204, 304})
_ONE_WRITE = 64 * 1024
"""A body up to this size goes out in the same write as its headers."""
_FRAMING = frozenset({"content-length", "connection", "transfer-encoding"})
"""Headers this handler writes itself: the app's values are not the connection's."""


class KeepAliveHandler(MotoRequestHandler):
    """One thread per connection, as before; many requests per connection."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_S
    disable_nagle_algorithm = True  # small header and body writes must not wait for ACKs

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log: werkzeug's logger is at ERROR, yet each line was formatted."""

    def run_wsgi(self) -> None:
        framed = "Transfer-Encoding" not in self.headers and "Expect" not in self.headers
        if not framed:
            super().run_wsgi()  # sends "Connection: close"
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        stream, self.rfile = self.rfile, io.BytesIO(body)
        try:
            self.environ = environ = self.make_environ()
        finally:
            self.rfile = stream
        try:
            status, headers, payload = _call(self.server.app, environ)
        except Exception:
            log.exception("moto failed on %s %s", self.command, self.path)
            status, headers, payload = "500 INTERNAL SERVER ERROR", [], b""
            self.close_connection = True
        self._respond(status, headers, payload)

    def _respond(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        """Status line, headers and body, in one write for a small answer (one segment)."""
        code = int(status.partition(" ")[0])
        lines = [f"{self.protocol_version} {status}"]
        given = {key.lower(): value for key, value in headers}
        lines += [f"{key}: {value}" for key, value in headers if key.lower() not in _FRAMING]
        if "server" not in given:
            lines.append(f"Server: {self.version_string()}")
        if "date" not in given:
            lines.append(f"Date: {self.date_time_string()}")
        declared = given.get("content-length")
        if code not in _NO_BODY:
            # A HEAD answer keeps the length the app declared (an S3 object's size, say).
            length = declared if self.command == "HEAD" and declared else str(len(payload))
            lines.append(f"Content-Length: {length}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")
        if self.command == "HEAD" or code in _NO_BODY:
            self.wfile.write(head)
        elif len(payload) <= _ONE_WRITE:
            self.wfile.write(head + payload)
        else:  # a large body (an S3 object) is not copied to be joined to its head
            self.wfile.write(head)
            self.wfile.write(payload)


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion: its status, headers and whole body."""
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return written.append

    result = app(environ, start_response)
    try:
        written.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    return status, headers, b"".join(written)
