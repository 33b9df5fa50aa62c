"""ECS task scale-in protection, held while records are in flight and released when idle.

The ECS agent injects ``ECS_AGENT_URI``; ``PUT $ECS_AGENT_URI/task-protection/v1/state``
with ``{"ProtectionEnabled": true, "ExpiresInMinutes": N}`` protects the task from
scale-in and deployments, ``false`` releases it. Without the variable (the sandbox, a
laptop) every call does nothing. A failing agent call is logged, never raised: protection
is a courtesy, the visibility heartbeat and the drain keep the records safe regardless.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Mapping

AGENT_ENV = "ECS_AGENT_URI"
PATH = "/task-protection/v1/state"
EXPIRES_MIN = 60
"""Each protection lasts this long; it is renewed while the task stays busy."""

log = logging.getLogger(__name__)


class ScaleInProtection:
    """Tracks busy/idle edges and tells the ECS agent; thread-safe."""

    def __init__(self, agent_uri: str | None, *, expires_min: int = EXPIRES_MIN) -> None:
        self.url = agent_uri.rstrip("/") + PATH if agent_uri else None
        self.expires_min = expires_min
        self.protected = False
        self.calls = 0
        self._since = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ScaleInProtection:
        """From ``ECS_AGENT_URI`` (absent: a protection that does nothing)."""
        env = os.environ if environ is None else environ
        return cls(env.get(AGENT_ENV) or None)

    def update(self, busy: bool) -> None:
        """Protect on the idle->busy edge (and when a protection nears expiry); release on
        the busy->idle edge."""
        if self.url is None:
            return
        with self._lock:
            stale = time.monotonic() - self._since > self.expires_min * 60 / 2
            if busy == self.protected and not (busy and stale):
                return
            if self._put(busy):
                self.protected = busy
                self._since = time.monotonic()

    def _put(self, enabled: bool) -> bool:
        assert self.url is not None
        body: dict[str, object] = {"ProtectionEnabled": enabled}
        if enabled:
            body["ExpiresInMinutes"] = self.expires_min
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        self.calls += 1
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                answer.read()
        except OSError as exc:
            log.warning("scale-in protection call failed: %s", exc)
            return False
        return True
