"""A schedule's dead-letter events, read as the envelopes they failed to deliver.

EventBridge Scheduler dead-letters a fire it could not deliver after its retries, with the
target's input as the body and ``ERROR_CODE``/``ERROR_MESSAGE`` attributes saying why. A
Sluice schedule's input is a universal-target request (``sluice.schedule``): SNS Publish
or SQS SendMessage parameters around an envelope. Unwrapped here, such a message reads
like any other dead-lettered event: ``sluice dlq show`` prints the envelope and the error,
and ``sluice dlq replay`` sends the envelope, with its own attributes, to the topic or queue
the schedule targets, in the FIFO group the request carried (a schedule's DLQ is a standard
queue: its messages have no group of their own). The sandbox's scheduler dead-letters in the
same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sluice.core import parse_json
from sluice.schedule import ERROR_CODE, ERROR_MESSAGE

_BODY_KEYS = ("Message", "MessageBody")


@dataclass(frozen=True, slots=True)
class Carried:
    """What a DLQ message carries: the envelope body, its attributes and its FIFO group."""

    body: str
    attributes: dict[str, Any]
    scheduler: dict[str, Any] = field(default_factory=dict)
    """The Scheduler's attributes (``ERROR_CODE``...); empty when the body is no request."""
    group_id: str | None = None
    """The ``MessageGroupId`` of a SendMessage request to a FIFO queue."""


def unwrap(body: str, attributes: dict[str, Any]) -> Carried:
    """The envelope body, original attributes, Scheduler attributes and group of a request.

    A body that is not a Publish/SendMessage request comes back as it is, with its
    attributes as the original ones and no Scheduler attributes.
    """
    try:
        doc = parse_json(body)
    except ValueError:
        return Carried(body, attributes)
    inner = next((doc[k] for k in _BODY_KEYS if isinstance(doc, dict) and k in doc), None)
    if not isinstance(inner, str):
        return Carried(body, attributes)
    original = doc.get("MessageAttributes")
    group = doc.get("MessageGroupId")
    return Carried(
        inner,
        dict(original) if isinstance(original, dict) else {},
        dict(attributes),
        group if isinstance(group, str) and group else None,
    )


def failure(scheduler: dict[str, Any]) -> dict[str, str]:
    """The Scheduler's error code and message, as a failure reason and detail."""
    found = {}
    for name, short in ((ERROR_CODE, "reason"), (ERROR_MESSAGE, "detail")):
        if name in scheduler:
            found[short] = str(scheduler[name].get("StringValue", ""))
    return found
