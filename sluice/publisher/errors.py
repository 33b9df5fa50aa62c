"""What the publisher raises. Entry failures are not raised: they come back in the result."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sluice.publisher.result import PublishResult


class PublisherError(ValueError):
    """An envelope cannot be sent as it is; nothing was sent."""

    envelope_id: str | None = None
    """The envelope at fault, where one is."""


class OversizeError(PublisherError):
    """An envelope (body plus attributes) is over the per-message limit."""

    def __init__(self, envelope_id: str, size: int, limit: int) -> None:
        super().__init__(
            f"envelope {envelope_id} is {size} bytes with its attributes; the limit is {limit} "
            "bytes (256 KiB). Store the payload elsewhere (e.g. S3) and send a reference."
        )
        self.envelope_id: str | None = envelope_id
        self.size = size


class GroupingError(PublisherError):
    """A FIFO destination needs a MessageGroupId the envelope cannot provide."""


class PublishFailedError(RuntimeError):
    """Some envelopes were still not accepted after every retry."""

    def __init__(self, result: PublishResult) -> None:
        codes = sorted({f.code for f in result.failed})
        super().__init__(
            f"{len(result.failed)} of {result.total} envelopes were not published "
            f"({', '.join(codes)}); see .result.failed"
        )
        self.result = result
