"""Contract violations. Each one is permanent: retrying the same bytes cannot help."""

from __future__ import annotations


class ContractError(ValueError):
    """The bytes, the envelope or the payload break an event contract."""

    reason = "contract_violation"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class MalformedJsonError(ContractError):
    """The body is not JSON."""

    reason = "malformed_json"


class EnvelopeShapeError(ContractError):
    """The JSON is not an envelope: a field is missing, unknown or of the wrong type."""

    reason = "invalid_envelope"


class UnknownEventTypeError(ContractError):
    """No contract in the catalog has this event type."""

    reason = "unknown_event_type"


class UnsupportedVersionError(ContractError):
    """The event's version is newer than any this consumer knows."""

    reason = "unsupported_version"


class PayloadError(ContractError):
    """The payload does not satisfy its contract; ``problems`` lists every violation."""

    reason = "invalid_payload"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
