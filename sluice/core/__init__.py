"""The envelope core: the Envelope, versioned contracts, payload models, their errors.

It imports nothing else of Sluice's and one third-party package, msgspec (the models and
their checks), so anything may depend on it: workers, producers in other services, the tools.
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
from sluice.core.schema import Model, dump, json_type, load, problems, rules

__all__ = [
    "Catalog",
    "Contract",
    "ContractError",
    "Envelope",
    "EnvelopeShapeError",
    "MalformedJsonError",
    "Model",
    "PayloadError",
    "UnknownEventTypeError",
    "UnsupportedVersionError",
    "dump",
    "envelope_from_dict",
    "format_time",
    "json_type",
    "load",
    "parse_json",
    "problems",
    "rules",
    "utc_now",
]
