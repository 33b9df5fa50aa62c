"""A schedule's dead-letter events, read as the envelopes they failed to deliver.

EventBridge Scheduler dead-letters a fire it could not deliver after its retries, with the
target's input as the body and ``ERROR_CODE``/``ERROR_MESSAGE`` attributes saying why. A
Sluice schedule's input is a universal-target request (``sluice.schedule``): SNS Publish
or SQS SendMessage parameters around an envelope. Unwrapped here, such a message reads
like any other dead-lettered event: ``sluice dlq show`` prints the envelope and the error,
and ``sluice dlq replay`` sends the envelope, with its own attributes, to the topic or queue
the schedule targets. The sandbox's scheduler dead-letters in the same shape.
"""

from __future__ import annotations

import json
from typing import Any

from sluice.schedule import ERROR_CODE, ERROR_MESSAGE

_BODY_KEYS = ("Message", "MessageBody")


def unwrap(body: str, attributes: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(envelope body, its original attributes, the Scheduler's attributes) of a request.

    A body that is not a Publish/SendMessage request comes back as it is, with its
    attributes as the original ones and no Scheduler attributes.
    """
    try:
        doc = json.loads(body)
    except ValueError:
        return body, attributes, {}
    inner = next((doc[k] for k in _BODY_KEYS if isinstance(doc, dict) and k in doc), None)
    if not isinstance(inner, str):
        return body, attributes, {}
    original = doc.get("MessageAttributes")
    return inner, dict(original) if isinstance(original, dict) else {}, dict(attributes)


def failure(scheduler: dict[str, Any]) -> dict[str, str]:
    """The Scheduler's error code and message, as a failure reason and detail."""
    found = {}
    for name, short in ((ERROR_CODE, "reason"), (ERROR_MESSAGE, "detail")):
        if name in scheduler:
            found[short] = str(scheduler[name].get("StringValue", ""))
    return found
