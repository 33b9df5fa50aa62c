"""S3 event notifications on a stream failure queue: which failure records they announce.

On AWS a stream worker's on-failure records are objects in a bucket, and each new object is
announced on the worker's failure queue by an S3 event notification (``Records[].s3``, with
the key URL-encoded). S3 also sends one ``s3:TestEvent`` there when the notification is set
up. This module only reads message bodies; ``failure_objects`` fetches what they name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from sluice.core import parse_json

S3 = "aws:s3"
TEST_EVENT = "s3:TestEvent"
CREATED = "ObjectCreated:"


@dataclass(frozen=True, slots=True)
class FailureObject:
    """One object in a failure bucket."""

    bucket: str
    key: str
    size: int | None = None

    @property
    def uri(self) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True, slots=True)
class Notice:
    """An S3 notification: the objects it announces, or why it announces none."""

    objects: tuple[FailureObject, ...] = ()
    test_event: bool = False
    """S3's ``s3:TestEvent``, sent when the notification was set up: no failure at all."""
    problem: str | None = None
    """Why a notification from S3 names no failure record (malformed, or another event)."""
    bucket: str | None = None
    """The bucket a test event names."""

    @property
    def named(self) -> list[tuple[str | None, str]]:
        """The bucket and ``s3://`` URI of each object (or test event's bucket) it names."""
        if self.test_event:
            return [(self.bucket, f"s3://{self.bucket or '(no bucket)'}")]
        return [(o.bucket, o.uri) for o in self.objects]


def notice(body: str) -> Notice | None:
    """The notification in a message body, or None when the body is not one from S3."""
    try:
        doc = parse_json(body)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    if doc.get("Event") == TEST_EVENT:
        bucket = doc.get("Bucket")
        return Notice(test_event=True, bucket=bucket if isinstance(bucket, str) else None)
    entries = doc.get("Records")
    if not isinstance(entries, list) or not any(_from_s3(e) for e in entries):
        return None
    objects = []
    for entry in entries:
        found = _object(entry)
        if isinstance(found, str):
            return Notice(problem=f"S3 notification, {found}")
        objects.append(found)
    return Notice(objects=tuple(objects))


def _from_s3(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("eventSource") == S3


def _object(entry: Any) -> FailureObject | str:
    """The object an entry announces, or what is wrong with the entry."""
    if not _from_s3(entry):
        return "with a record not from S3"
    event = str(entry.get("eventName", ""))
    if not event.startswith(CREATED):
        return f"event {event or '(none)'} is not a new failure record"
    s3 = entry.get("s3")
    bucket = s3.get("bucket") if isinstance(s3, dict) else None
    item = s3.get("object") if isinstance(s3, dict) else None
    name = bucket.get("name") if isinstance(bucket, dict) else None
    key = item.get("key") if isinstance(item, dict) else None
    if not isinstance(name, str) or not name or not isinstance(key, str) or not key:
        return "without a bucket name and an object key"
    size = item.get("size") if isinstance(item, dict) else None
    return FailureObject(name, unquote_plus(key), size if isinstance(size, int) else None)
