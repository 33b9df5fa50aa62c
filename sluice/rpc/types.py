"""The direct-invoke wire shapes: what a producer sends the API function, and what it answers."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class Payload(TypedDict):
    """One call of an API operation through Lambda Invoke (every field but ``op`` optional).

    ``params`` fills the route's path parameters, ``body`` is the JSON the route would get
    as its request body, ``idempotency_key`` and ``correlation_id`` are what the
    ``Idempotency-Key`` and ``X-Correlation-Id`` headers carry over HTTP, and ``caller`` is
    the IAM principal ARN the caller claims to be: required with ``idempotency_key``, which
    is scoped to it (asserted, not proven: Lambda Invoke does not say who called).
    """

    op: str
    params: NotRequired[dict[str, str]]
    body: NotRequired[Any]
    idempotency_key: NotRequired[str]
    correlation_id: NotRequired[str]
    caller: NotRequired[str]


class Problem(TypedDict):
    """RFC 9457 problem details, as the HTTP API sends them with a 4xx."""

    type: str
    title: str
    status: int
    detail: str


class Success(TypedDict):
    """The operation was done: the route's status, JSON body and response headers."""

    ok: Literal[True]
    op: str
    status: int
    body: Any
    headers: dict[str, str]
    correlation_id: str


class Refusal(TypedDict):
    """The operation was refused: the same problem the HTTP API answers."""

    ok: Literal[False]
    op: str | None
    status: int
    problem: Problem
    correlation_id: str


Answer = Success | Refusal
