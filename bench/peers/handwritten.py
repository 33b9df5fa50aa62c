"""The hand-written validator Sluice used before msgspec (sluice/core/schema.py at 04b6d49).

Kept unchanged as the baseline of bench/bench_contracts.py, with the order.placed contract
and the envelope check as they were declared against it; nothing else imports it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar


class EnvelopeShapeError(ValueError):
    """The JSON is not an envelope."""


class PayloadError(ValueError):
    """The payload breaks its contract; ``problems`` lists every violation."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


M = TypeVar("M")
_Check = Callable[[object, str, list[str]], object]
_MISSING = object()


def rules(
    *,
    min: float | None = None,
    max: float | None = None,
    min_len: int | None = None,
    max_len: int | None = None,
    pattern: str | None = None,
) -> dict[str, object]:
    """Metadata for a dataclass field: bounds for numbers, lengths for strings and arrays."""
    found = {"min": min, "max": max, "min_len": min_len, "max_len": max_len, "pattern": pattern}
    return {"rules": {k: v for k, v in found.items() if v is not None}}


def load(model: type[M], document: object, path: str = "data") -> M:
    """Build ``model`` from a JSON document, or raise PayloadError listing every problem."""
    problems: list[str] = []
    value = _checker(typing.cast(Any, model))(document, path, problems)
    if problems:
        raise PayloadError(problems)
    return typing.cast(M, value)


def _type_name(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


@cache
def _checker(tp: Any) -> _Check:
    """Compile a type into a checking function, once per type."""
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_checker(tp)
    if origin in (typing.Union, types.UnionType):
        return _union_checker(typing.get_args(tp))
    if origin is typing.Literal:
        return _literal_checker(typing.get_args(tp))
    if origin is tuple:
        return _array_checker(typing.get_args(tp)[0])
    if tp in (str, int, float, bool):
        return _scalar_checker(tp)
    raise TypeError(f"schema: unsupported field type {tp!r}")


def _scalar_checker(tp: type) -> _Check:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}

    def check(value: object, path: str, problems: list[str]) -> object:
        ok = isinstance(value, tp) and not (tp is not bool and isinstance(value, bool))
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            problems.append(f"{path}: must be {names[tp]}, got {_type_name(value)}")
        return value

    return check


def _union_checker(options: tuple[Any, ...]) -> _Check:
    inner = [o for o in options if o is not type(None)]
    if len(inner) != 1:
        raise TypeError("schema: only `X | None` unions are supported")
    check_inner = _checker(inner[0])

    def check(value: object, path: str, problems: list[str]) -> object:
        return None if value is None else check_inner(value, path, problems)

    return check


def _literal_checker(allowed: tuple[Any, ...]) -> _Check:
    def check(value: object, path: str, problems: list[str]) -> object:
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            problems.append(f"{path}: must be one of {choices}, got {value!r}")
        return value

    return check


def _array_checker(item_type: Any) -> _Check:
    check_item = _checker(item_type)

    def check(value: object, path: str, problems: list[str]) -> object:
        if not isinstance(value, list):
            problems.append(f"{path}: must be an array, got {_type_name(value)}")
            return value
        return tuple(check_item(v, f"{path}[{i}]", problems) for i, v in enumerate(value))

    return check


def _apply_rules(value: object, path: str, spec: Mapping[str, Any], problems: list[str]) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "min" in spec and value < spec["min"]:
            problems.append(f"{path}: must be at least {spec['min']}, got {value}")
        if "max" in spec and value > spec["max"]:
            problems.append(f"{path}: must be at most {spec['max']}, got {value}")
    if isinstance(value, str | tuple):
        unit = "characters" if isinstance(value, str) else "items"
        if "min_len" in spec and len(value) < spec["min_len"]:
            problems.append(
                f"{path}: must have at least {spec['min_len']} {unit}, got {len(value)}"
            )
        if "max_len" in spec and len(value) > spec["max_len"]:
            problems.append(f"{path}: must have at most {spec['max_len']} {unit}, got {len(value)}")
    if isinstance(value, str) and "pattern" in spec and not re.fullmatch(spec["pattern"], value):
        problems.append(f"{path}: must match {spec['pattern']}, got {value!r}")


def _dataclass_checker(model: type) -> _Check:
    hints = typing.get_type_hints(model)
    fields = [
        (
            f.name,
            _checker(hints[f.name]),
            f.metadata.get("rules", {}),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(model)
    ]
    known = {name for name, *_ in fields}

    def check(value: object, path: str, problems: list[str]) -> object:
        if not isinstance(value, dict):
            problems.append(f"{path}: must be an object, got {_type_name(value)}")
            return value
        before = len(problems)
        for extra in sorted(set(value) - known):
            problems.append(f"{path}.{extra}: unknown field")
        kwargs: dict[str, object] = {}
        for name, check_field, field_rules, required in fields:
            raw = value.get(name, _MISSING)
            if raw is _MISSING:
                if required:
                    problems.append(f"{path}.{name}: required field is missing")
                continue
            mark = len(problems)
            kwargs[name] = check_field(raw, f"{path}.{name}", problems)
            if len(problems) == mark and field_rules:
                _apply_rules(kwargs[name], f"{path}.{name}", field_rules, problems)
        return model(**kwargs) if len(problems) == before else value

    return check


_ID = rules(min_len=1, max_len=128)
_FIELDS = ("id", "type", "version", "source", "time", "correlation_id", "causation_id", "data")


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line of an order."""

    sku: str = field(metadata=rules(min_len=1, max_len=64))
    quantity: int = field(metadata=rules(min=1, max=1000))
    unit_price_cents: int = field(metadata=rules(min=0, max=100_000_000))


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    """order.placed v1."""

    order_id: str = field(metadata=_ID)
    customer_id: str = field(metadata=_ID)
    items: tuple[LineItem, ...] = field(metadata=rules(min_len=1, max_len=100))
    currency: str = field(default="EUR", metadata=rules(pattern="[A-Z]{3}"))


def decode(body: str | bytes) -> tuple[dict[str, Any], OrderPlaced]:
    """What ``CATALOG.decode`` did: parse, check the envelope's fields, load the payload."""
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise EnvelopeShapeError("an envelope must be a JSON object")
    problems = [f"{name}: required field is missing" for name in _FIELDS if name not in doc]
    problems += [f"{name}: unknown field" for name in sorted(set(doc) - set(_FIELDS))]
    for name in ("id", "type", "source", "correlation_id"):
        if name in doc and (not isinstance(doc[name], str) or not doc[name]):
            problems.append(f"{name}: must be a non-empty string, got {doc[name]!r}")
    if "version" in doc and (type(doc["version"]) is not int or doc["version"] < 1):
        problems.append(f"version: must be an integer >= 1, got {doc['version']!r}")
    try:
        moment = datetime.fromisoformat(doc.get("time"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        problems.append("time: must be an RFC 3339 timestamp")
    if problems:
        raise EnvelopeShapeError("not an envelope: " + "; ".join(problems))
    doc["time"] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return doc, load(OrderPlaced, doc["data"])
