"""A small JSON-over-HTTP client for driving an app's API (demos, tests, benchmarks)."""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class JsonClient:
    """JSON requests with one keep-alive connection per thread; safe to share across threads."""

    base_url: str
    timeout_s: float = 30.0
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Send one request; the status and the JSON answer (``{}`` if empty)."""
        url = urlsplit(self.base_url)
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(
                url.hostname or "127.0.0.1", url.port, timeout=self.timeout_s
            )
        payload = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})}
        try:
            conn.request(method, path, body=payload, headers=sent)
            answer = conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            conn.close()  # the server closed an idle keep-alive connection: once more
            conn.request(method, path, body=payload, headers=sent)
            answer = conn.getresponse()
        raw = answer.read()
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {"raw": raw.decode(errors="replace")}
        return answer.status, doc if isinstance(doc, dict) else {"value": doc}
