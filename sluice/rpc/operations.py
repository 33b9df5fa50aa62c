"""An API's operations: the routes a direct-invoke payload names, and reading such a payload.

An operation is a route with a name (``place_order`` is ``POST /orders``). A payload names
one operation and carries what an HTTP request would: path parameters, a JSON body, the
idempotency key and the correlation id, and the caller it claims to be. ``Operations.read``
checks the payload's shape only (and that a key names whose it is); everything about its
content is left to the route, so it is judged as over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sluice.rpc.types import Problem

_PARAMETER = re.compile(r"<(\w+)>")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FIELDS = ("op", "params", "body", "idempotency_key", "correlation_id", "caller")
_TEXT_FIELDS = ("idempotency_key", "correlation_id", "caller")
_SEGMENT = re.compile(r"[\w\-.~()'!*:@,;=+&$%<> \[\]{}|^]+")
"""What a route's path parameter matches (Powertools' event handler): one path segment."""
_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:(?:iam|sts)::\d{12}:[\x21-\x7e]{1,2000}")
"""An IAM principal's ARN: a user, a role, an assumed-role session, an account's root."""
_SEGMENT_RULE = (
    "must be one path segment: letters, digits, _ and -.~()'!*:@,;=+&$%<> []{}|^ "
    "(no '/', '?', '#', control characters or other symbols)"
)
_UNSCOPED_KEY = (
    "caller: required with an idempotency_key. Lambda Invoke does not tell the function who "
    "called, so a key is scoped to the caller the payload names: send the ARN of the IAM "
    "principal you call as (ApiClient(..., caller=...)); two callers never share a key"
)
IDEMPOTENCY_HEADER = "Idempotency-Key"
CORRELATION_HEADER = "X-Correlation-Id"


class BadPayload(Exception):
    """A payload whose shape is wrong; the answer is its problem, never a crash."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem["detail"])
        self.problem = problem


def problem(status: int, detail: str) -> Problem:
    """A problem document in the API's own terms (``urn:sluice:problem:...``)."""
    title = {400: "Invalid request", 404: "Not found"}.get(status, "Error")
    slug = title.lower().replace(" ", "-")
    return {
        "type": f"urn:sluice:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }


@dataclass(frozen=True, slots=True)
class Operation:
    """One named route: ``Operation("get_thing", "GET", "/things/<thing_id>")``."""

    name: str
    method: str
    path: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"operation name {self.name!r}: use 1-64 lowercase letters, digits or '_', "
                "starting with a letter (callers send it as the payload's 'op')"
            )

    @property
    def parameters(self) -> tuple[str, ...]:
        """The path parameters, in order (``("thing_id",)``)."""
        return tuple(_PARAMETER.findall(self.path))

    def target(self, params: Mapping[str, str]) -> str:
        """The concrete path for ``params`` (each already checked to be one path segment)."""
        return _PARAMETER.sub(lambda m: params[m.group(1)], self.path)


@dataclass(frozen=True, slots=True)
class Call:
    """A payload read: the operation, its concrete path, and the HTTP request it stands for."""

    operation: Operation
    path: str
    headers: dict[str, str]
    body: str | None
    caller: str | None


@dataclass(frozen=True)
class Operations:
    """Every operation of one API, and the header names its routes read."""

    operations: tuple[Operation, ...]
    idempotency_header: str = IDEMPOTENCY_HEADER
    correlation_header: str = CORRELATION_HEADER

    def __post_init__(self) -> None:
        names = [op.name for op in self.operations]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"operation names must be unique; declared twice: {', '.join(twice)}")

    def find(self, name: str) -> Operation:
        """The operation called ``name``, or a 404 problem listing the known ones."""
        for op in self.operations:
            if op.name == name:
                return op
        known = ", ".join(f"{op.name} ({op.method} {op.path})" for op in self.operations)
        raise BadPayload(problem(404, f"no operation {name!r}; operations: {known}"))

    def read(self, payload: Any, encode: Any) -> Call:
        """Check the payload's shape and turn it into the request it stands for.

        ``encode`` turns the body into JSON text (the caller's serializer, so a body too
        deep to serialize is the caller's problem to name).
        """
        if not isinstance(payload, dict):
            raise BadPayload(
                problem(400, f"the payload must be a JSON object, got {kind(payload)}")
            )
        unknown = sorted(set(payload) - set(_FIELDS))
        if unknown:
            raise BadPayload(
                problem(
                    400,
                    f"unknown payload field(s): {', '.join(unknown)}; "
                    f"a payload has {', '.join(_FIELDS)}",
                )
            )
        name = payload.get("op")
        if not isinstance(name, str) or not name:
            raise BadPayload(
                problem(400, f"op: must name an operation ({self._names()}), got {kind(name)}")
            )
        op = self.find(name)
        for field in _TEXT_FIELDS:
            value = payload.get(field)
            if value is not None and not isinstance(value, str):
                raise BadPayload(problem(400, f"{field}: must be a string, got {kind(value)}"))
        caller = payload.get("caller")
        wrong = caller_problem(caller) if caller is not None else None
        if wrong:
            raise BadPayload(problem(400, wrong))
        if payload.get("idempotency_key") is not None and caller is None:
            raise BadPayload(problem(400, _UNSCOPED_KEY))
        params = self._params(op, payload.get("params"))
        headers = {"Content-Type": "application/json"}
        if payload.get("idempotency_key") is not None:
            headers[self.idempotency_header] = payload["idempotency_key"]
        if payload.get("correlation_id") is not None:
            headers[self.correlation_header] = payload["correlation_id"]
        body = encode(payload["body"]) if "body" in payload else None
        return Call(op, op.target(params), headers, body, caller)

    def _params(self, op: Operation, given: Any) -> dict[str, str]:
        given = {} if given is None else given
        if not isinstance(given, dict):
            raise BadPayload(problem(400, f"params: must be an object, got {kind(given)}"))
        wanted = op.parameters
        problems = [f"params.{n}: unknown parameter" for n in sorted(set(given) - set(wanted))]
        for name in wanted:
            value = given.get(name)
            if value is None:
                problems.append(f"params.{name}: required by {op.name}")
            elif not isinstance(value, str) or not _SEGMENT.fullmatch(value):
                problems.append(f"params.{name}: {_SEGMENT_RULE}, got {_shown(value)}")
        if problems:
            raise BadPayload(problem(400, "; ".join(problems)))
        return {name: given[name] for name in wanted}

    def _names(self) -> str:
        return ", ".join(op.name for op in self.operations)


def caller_problem(caller: str) -> str | None:
    """What is wrong with a claimed caller (a payload's, or ``ApiClient(caller=...)``), or None."""
    if _PRINCIPAL.fullmatch(caller):
        return None
    return (
        "caller: must be the ARN of the IAM principal you call as, e.g. "
        "arn:aws:iam::123456789012:role/billing (over HTTP, the one your requests are "
        f"signed with), got {_shown(caller)}"
    )


def _shown(value: Any) -> str:
    """A value for a problem detail: short text as itself, anything else by its kind."""
    return repr(value[:60]) if isinstance(value, str) else kind(value)


def kind(value: Any) -> str:
    """A JSON value's type, in JSON's words."""
    if value is None:
        return "null"
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}
    return names.get(type(value), "object")
