"""The envelope core: the Envelope, versioned contracts, the schema checker, their errors.

It imports nothing else of Sluice's (nor any third-party package), so anything may depend
on it: workers, producers in other services, the tools.
"""

from sluice.core.catalog import Catalog, Contract
from sluice.core.envelope import Envelope, envelope_from_dict, format_time, parse_json, utc_now
from sluice.core.errors import (
    ContractError,
    EnvelopeShapeError,
    MalformedJsonError,
    PayloadError,
    UnknownEventTypeError,
    UnsupportedVersionError,
)
from sluice.core.schema import dump, load, rules

__all__ = [
    "Catalog",
    "Contract",
    "ContractError",
    "Envelope",
    "EnvelopeShapeError",
    "MalformedJsonError",
    "PayloadError",
    "UnknownEventTypeError",
    "UnsupportedVersionError",
    "dump",
    "envelope_from_dict",
    "format_time",
    "load",
    "parse_json",
    "rules",
    "utc_now",
]
