"""What a call through ``ApiClient`` can raise: one class per answer, built from the problem."""

from __future__ import annotations

from typing import ClassVar

from sluice.rpc.types import Problem


class CallError(Exception):
    """A call did not succeed."""


class RefusedError(CallError):
    """The API refused the call; ``problem`` is the same document HTTP sends with its 4xx."""

    status: ClassVar[int] = 0

    def __init__(self, problem: Problem, *, op: str | None, correlation_id: str | None) -> None:
        super().__init__(f"{op or 'call'} refused ({problem['status']}): {problem['detail']}")
        self.problem = problem
        self.detail = problem["detail"]
        self.op = op
        self.correlation_id = correlation_id


class InvalidRequestError(RefusedError):
    """400: the body, a parameter or the payload itself is malformed or breaks the contract."""

    status = 400


class NotFoundError(RefusedError):
    """404: no such resource, or no such operation."""

    status = 404


class MethodNotAllowedError(RefusedError):
    """405: the route exists, but not with this method (HTTP only)."""

    status = 405


class ConflictError(RefusedError):
    """409: the call contradicts the resource's state or an earlier use of its idempotency key."""

    status = 409


class PayloadTooLargeError(RefusedError):
    """413: the body is over the API's size limit."""

    status = 413


class UnsupportedMediaTypeError(RefusedError):
    """415: the body is not JSON (HTTP only)."""

    status = 415


class ThrottledError(CallError):
    """Lambda or the gateway throttled the call, on every attempt the client made."""


class FunctionCrashedError(CallError):
    """The function crashed (Lambda ``FunctionError``, or a 5xx): nothing says it was refused."""

    def __init__(self, message: str, *, error_type: str | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type


REFUSALS: dict[int, type[RefusedError]] = {
    cls.status: cls
    for cls in (
        InvalidRequestError,
        NotFoundError,
        MethodNotAllowedError,
        ConflictError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
    )
}


def refused(problem: Problem, *, op: str | None, correlation_id: str | None) -> RefusedError:
    """The typed error for a problem: by its status, else ``RefusedError`` itself."""
    kind = REFUSALS.get(int(problem.get("status", 0)), RefusedError)
    return kind(problem, op=op, correlation_id=correlation_id)
