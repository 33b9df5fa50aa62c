"""Problem details (RFC 9457): one small exception class per answer the API can refuse with."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_JSON = "application/problem+json"


class ApiProblem(Exception):
    """A request the API refuses; the class says the status, the instance says why."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    slug: ClassVar[str] = "internal-error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The problem document."""
        return {
            "type": f"urn:sluice:problem:{self.slug}",
            "title": self.title,
            "detail": self.detail,
            "status": self.status,
        }


class InvalidRequest(ApiProblem):
    """The body or a header is malformed or breaks the order contract."""

    status = 400
    title = "Invalid request"
    slug = "invalid-request"


class NotFound(ApiProblem):
    """No such route, or no such order."""

    status = 404
    title = "Not found"
    slug = "not-found"


class MethodNotAllowed(ApiProblem):
    """The route exists, but not with this method."""

    status = 405
    title = "Method not allowed"
    slug = "method-not-allowed"


class Conflict(ApiProblem):
    """The request contradicts the order's state or an earlier use of its Idempotency-Key."""

    status = 409
    title = "Conflict"
    slug = "conflict"


class PayloadTooLarge(ApiProblem):
    """The body is over the size limit."""

    status = 413
    title = "Payload too large"
    slug = "payload-too-large"


class UnsupportedMediaType(ApiProblem):
    """The body is not declared as JSON."""

    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"
