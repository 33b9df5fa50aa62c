"""Who a request says it is from: proven by AWS on the HTTP doors, asserted over Lambda Invoke.

Proven: AWS checked it before the function ran, and wrote it into the proxy event.

- API Gateway REST with IAM auth: ``requestContext.identity.userArn``, the ARN whose SigV4
  signature the gateway verified (for a role, its ``assumed-role/<role>/<session>`` ARN).
- HTTP API with IAM auth, and a function URL with ``AWS_IAM`` auth:
  ``requestContext.authorizer.iam.userArn``, verified the same way.
- A JWT authorizer's ``sub`` claim and a Lambda authorizer's ``principalId``: proven by that
  authorizer, not by IAM.

Asserted: nothing checked it.

- A direct payload's ``caller``. Lambda Invoke hands the function the payload and nothing of
  who sent it: IAM proved only that the sender is allowed to invoke the function (its
  resource policy, ``Api.callers``). ``asserted`` puts the claim where the gateway writes a
  proven caller, so one service claiming its own ARN shares one key space across doors.
- Anything in a proxy-shaped event sent with Lambda Invoke. The function cannot tell an
  event API Gateway built from one a direct caller wrote to look like it, so a principal
  allowed to invoke the function directly can claim any identity either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PROVEN = (
    ("identity", "userArn"),
    ("authorizer", "iam", "userArn"),
    ("authorizer", "jwt", "claims", "sub"),
    ("authorizer", "principalId"),
    ("authorizer", "lambda", "principalId"),
)
"""Where each door writes its caller in ``requestContext``, in the order they are read."""


def caller_of(event: Mapping[str, Any]) -> str | None:
    """The caller a proxy event names (see the module docstring for how sure that is)."""
    context = event.get("requestContext")
    for path in _PROVEN:
        found = _at(context, path)
        if found:
            return found
    return None


def asserted(caller: str | None) -> dict[str, Any]:
    """The ``requestContext.identity`` of a direct call claiming to be ``caller``."""
    return {"userArn": caller, "caller": caller, "sourceIp": None}


def _at(doc: Any, path: tuple[str, ...]) -> str | None:
    """The text at ``path`` inside nested objects, or None (whatever shape they have)."""
    for name in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(name)
    return doc if isinstance(doc, str) else None
