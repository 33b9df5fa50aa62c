"""What ``sluice catalog`` shows: each contract's fields, and its JSON Schema on disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sluice.core import Catalog
from sluice.core.export import catalog_schemas, envelope_schema

_RULES = {
    "minLength": "min length",
    "maxLength": "max length",
    "minItems": "min items",
    "maxItems": "max items",
    "minimum": ">=",
    "maximum": "<=",
    "exclusiveMinimum": ">",
    "exclusiveMaximum": "<",
    "pattern": "matches",
    "default": "default",
}


def rows(catalog: Catalog) -> Iterator[tuple[str, str, str, str]]:
    """(type, version, field path, what it must be) for every field of every contract."""
    for contract in catalog:
        schema = envelope_schema(contract)
        version = f"v{contract.version}"
        if contract.version == catalog.latest(contract.type):
            version += " (latest)"
        data = schema["$defs"][schema["properties"]["data"]["$ref"].rsplit("/", 1)[-1]]
        for path, text in _fields(data, schema["$defs"], "data"):
            yield contract.type, version, path, text


def write(catalog: Catalog, directory: Path) -> list[Path]:
    """One ``<type>.v<version>.schema.json`` per contract in ``directory``; the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, versions in catalog_schemas(catalog).items():
        for version, schema in versions.items():
            path = directory / f"{event_type}.v{version}.schema.json"
            path.write_text(json.dumps(schema, indent=2) + "\n")
            written.append(path)
    return written


def _fields(obj: dict[str, Any], defs: dict[str, Any], prefix: str) -> Iterator[tuple[str, str]]:
    required = set(obj.get("required", ()))
    for name, spec in obj.get("properties", {}).items():
        path = f"{prefix}.{name}"
        yield path, _describe(spec, name in required)
        nested = spec.get("items", spec)
        if "$ref" in nested:
            inner = defs[nested["$ref"].rsplit("/", 1)[-1]]
            yield from _fields(inner, defs, path + ("[]" if "items" in spec else ""))


def _describe(spec: dict[str, Any], required: bool) -> str:
    kinds = [_kind(option) for option in spec.get("anyOf", [spec])]
    rules = [f"{label} {json.dumps(spec[key])}" for key, label in _RULES.items() if key in spec]
    for option in spec.get("anyOf", []):
        rules += [
            f"{label} {json.dumps(option[key])}" for key, label in _RULES.items() if key in option
        ]
    text = " or ".join(kinds) + ("" if required else ", optional")
    return f"{text}; {', '.join(rules)}" if rules else text


def _kind(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    if spec.get("type") == "array":
        return f"array of {_kind(spec.get('items', {}))}"
    if "enum" in spec:
        return "one of " + ", ".join(repr(v) for v in spec["enum"])
    return str(spec.get("type", "any"))
