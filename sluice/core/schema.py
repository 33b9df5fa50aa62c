"""Validate JSON documents into frozen dataclasses, with every problem named by its path.

A small, dependency-free alternative to a full modelling library, because contracts are
imported by every worker and each millisecond of import is paid on every cold start.
Supported field types: str, int, float, bool, ``X | None``, ``Literal[...]``,
``tuple[X, ...]`` (a JSON array) and nested dataclasses. Field rules go in
``field(metadata=rules(...))``.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar

from sluice.core.errors import PayloadError

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


def dump(value: object) -> Any:
    """Turn a model (or any JSON-like value holding models) back into plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [dump(v) for v in value]
    if isinstance(value, Mapping):
        return {k: dump(v) for k, v in value.items()}
    return value


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
