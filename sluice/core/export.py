"""JSON Schema of every contract's envelope, for producers written in other languages."""

from __future__ import annotations

from typing import Any

import msgspec

from sluice.core.catalog import Catalog, Contract
from sluice.core.envelope import Wire

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def envelope_schema(contract: Contract) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) an envelope of this type and version must satisfy."""
    generated = msgspec.json.schema(Wire[contract.model])  # type: ignore[name-defined]
    defs: dict[str, Any] = generated["$defs"]
    envelope = defs.pop(generated["$ref"].rsplit("/", 1)[-1])
    envelope["properties"]["type"] = {"const": contract.type}
    envelope["properties"]["version"] = {"const": contract.version}
    envelope["properties"]["time"] = {"type": "string", "format": "date-time"}
    envelope["title"] = f"{contract.type} v{contract.version}"
    envelope["description"] = (contract.model.__doc__ or "").strip().splitlines()[0]
    return {"$schema": DRAFT, **envelope, "$defs": defs}


def catalog_schemas(catalog: Catalog) -> dict[str, dict[str, dict[str, Any]]]:
    """Every contract's envelope schema, by type, then version (as text, JSON's object keys)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for contract in catalog:
        found.setdefault(contract.type, {})[str(contract.version)] = envelope_schema(contract)
    return found
