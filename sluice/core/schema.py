"""Event payload models on msgspec: frozen Structs, checked in C, every problem named by path.

A payload is a subclass of ``Model`` whose fields carry their rules::

    class LineItem(Model):
        sku: Annotated[str, rules(min_len=1, max_len=64)]
        quantity: Annotated[int, rules(min=1, max=1000)]

msgspec decodes and checks a valid document in one pass and stops at the first problem. When
a document fails, ``problems`` walks it again, field by field, still asking msgspec at every
node, so an error lists every path that breaks the contract, not only the first.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, TypeVar

import msgspec

from sluice.core.errors import PayloadError

M = TypeVar("M")

_ANCHOR = ("^(?:", ")$(?!\\n)")
"""A pattern must match the whole string (msgspec and JSON Schema search, like ``re.search``);
``(?!\\n)`` stops Python's ``$`` from accepting a trailing newline."""
_JSON_TYPES = {
    dict: "object",
    list: "array",
    tuple: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}
_KINDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
    "datetime": "an RFC 3339 timestamp",
}
_BOUNDS = {">=": "at least", "<=": "at most", ">": "greater than", "<": "less than"}
_AT = re.compile(r"(?s)(?P<text>.*?)(?: - at `\$(?P<where>.*)`)?")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


@typing.dataclass_transform(frozen_default=True, kw_only_default=True)
class Model(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The base of every event payload: immutable, keyword-built, unknown fields refused.

    Subclasses inherit all three (``dataclass_transform`` tells type checkers so)."""


def rules(
    *,
    min: float | None = None,
    max: float | None = None,
    min_len: int | None = None,
    max_len: int | None = None,
    pattern: str | None = None,
) -> msgspec.Meta:
    """A field's rules, for ``Annotated[T, rules(...)]``: bounds, lengths, a whole-string regex."""
    given: dict[str, Any] = {
        "ge": min,
        "le": max,
        "min_length": min_len,
        "max_length": max_len,
        "pattern": None if pattern is None else f"{_ANCHOR[0]}{pattern}{_ANCHOR[1]}",
    }
    meta: msgspec.Meta = msgspec.Meta(**{k: v for k, v in given.items() if v is not None})
    return meta


def json_type(value: object) -> str:
    """The JSON name of a value's type: object, array, string, integer, number, boolean, null."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def load(model: type[M], document: object, path: str = "data") -> M:
    """Build ``model`` from a JSON document, or raise PayloadError listing every problem."""
    try:
        return msgspec.convert(document, model)
    except msgspec.ValidationError:
        raise PayloadError(problems(model, document, path)) from None


def dump(value: object) -> Any:
    """Turn a model (or any JSON-like value holding models) back into plain JSON values."""
    if isinstance(value, msgspec.Struct):
        value = msgspec.to_builtins(value)
    if isinstance(value, tuple | list):
        return [dump(v) for v in value]
    if isinstance(value, Mapping):
        return {k: dump(v) for k, v in value.items()}
    return value


def problems(tp: Any, value: object, path: str) -> list[str]:
    """Every way ``value`` breaks type ``tp``, each as ``path: what is wrong``."""
    found: list[str] = []
    _collect(tp, value, path, found)
    return found


def _verdict(tp: Any, value: object) -> str | None:
    """msgspec's first problem with ``value`` as a ``tp`` (path from ``$``), or None."""
    try:
        msgspec.convert({"value": value}, _holder(tp))
    except msgspec.ValidationError as exc:
        text, _, where = str(exc).partition(" - at `$.value")
        return f"{text} - at `${where}" if where else text
    return None


@cache
def _holder(tp: Any) -> type[msgspec.Struct]:
    """A one-field Struct around ``tp``: msgspec keeps a Struct's compiled checks, where
    ``convert(value, Annotated[...])`` would compile the type again on every call."""
    return msgspec.defstruct("Holder", [("value", tp)])


@cache
def _sized(metas: tuple[Any, ...]) -> Any:
    """An array type carrying only ``metas`` (its length rules), not its items' type."""
    return Annotated[(list[Any], *metas)]


def _collect(tp: Any, value: object, path: str, found: list[str]) -> None:
    first = _verdict(tp, value)
    if first is None:
        return
    before = len(found)
    kind, inner, metas = _shape(tp)
    if kind == "struct" and isinstance(value, dict):
        _collect_fields(inner, value, path, found)
    elif kind == "array" and isinstance(value, list):
        if metas:
            _check_only(_sized(metas), value, path, found)
        for i, item in enumerate(value):
            _collect(inner, item, f"{path}[{i}]", found)
    elif kind == "optional" and value is not None:
        _collect(inner, value, path, found)
    elif kind == "literal":
        choices = ", ".join(repr(choice) for choice in inner)
        found.append(f"{path}: must be one of {choices}, got {value!r}")
    if len(found) == before:
        found.append(_sentence(first, path, value))


@cache
def _shape(tp: Any) -> tuple[str, Any, tuple[Any, ...]]:
    """How to walk a value of ``tp``: (kind, what is inside, the rules on it), once per type."""
    base, metas = _unwrap(tp)
    origin = typing.get_origin(base)
    if _is_struct(origin) or _is_struct(base):
        return "struct", origin if _is_struct(origin) else base, metas
    if origin in (tuple, list):
        return "array", typing.get_args(base)[0], metas
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(base) if arg is not type(None)]
        return ("optional", inner[0], metas) if len(inner) == 1 else ("leaf", None, metas)
    if origin is typing.Literal:
        return "literal", typing.get_args(base), metas
    return "leaf", None, metas


def _check_only(tp: Any, value: object, path: str, found: list[str]) -> None:
    """msgspec's verdict on ``value`` alone (e.g. an array's length), not its contents."""
    problem = _verdict(tp, value)
    if problem is not None:
        found.append(_sentence(problem, path, value))


def _collect_fields(
    model: type[msgspec.Struct], value: dict[Any, Any], path: str, found: list[str]
) -> None:
    fields = _fields(model)
    if model.__struct_config__.forbid_unknown_fields:
        known = {f.encode_name for f in fields}
        found += [f"{_join(path, k)}: unknown field" for k in sorted(set(map(str, value)) - known)]
    for f in fields:
        if f.encode_name in value:
            _collect(f.type, value[f.encode_name], _join(path, f.encode_name), found)
        elif f.required:
            found.append(f"{_join(path, f.encode_name)}: required field is missing")


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


@cache
def _fields(model: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    return msgspec.structs.fields(model)


def _unwrap(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    """``Annotated[T, m1, m2]`` -> ``(T, (m1, m2))``; any other type -> ``(tp, ())``."""
    if typing.get_origin(tp) is Annotated:
        base, *metas = typing.get_args(tp)
        return base, tuple(metas)
    return tp, ()


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _sentence(message: str, path: str, value: object) -> str:
    """msgspec's message for ``value`` at ``path`` as ``path: must be ..., got ...``."""
    parts = _AT.fullmatch(message)
    assert parts is not None  # the pattern matches any text
    text, where = parts["text"], parts["where"] or ""
    steps = _STEP.findall(where)
    for name, index in steps:
        path = f"{path}[{index}]" if index else _join(path, name)
        value = _step(value, name, index)
    if found := re.fullmatch(r"Object (missing required|contains unknown) field `(.*)`", text):
        what = "required field is missing" if found[1] == "missing required" else "unknown field"
        return f"{_join(path, found[2])}: {what}"
    return f"{path}: {_rule(text, value)}" if path else _rule(text, value)


def _step(value: object, name: str, index: str) -> object:
    try:
        return value[int(index)] if index else value[name]  # type: ignore[index]
    except (LookupError, TypeError, ValueError):
        return None


def _rule(text: str, value: object) -> str:
    if found := re.fullmatch(r"Expected `\w+` (>=|<=|>|<) (\S+)", text):
        return f"must be {_BOUNDS[found[1]]} {found[2]}, got {value}"
    if found := re.fullmatch(r"Expected `(\w+)` of length (>=|<=) (\d+)", text):
        count = int(found[3])
        unit = ("character" if found[1] == "str" else "item") + ("" if count == 1 else "s")
        size = len(value) if isinstance(value, str | list | dict) else "?"
        return f"must have {_BOUNDS[found[2]]} {count} {unit}, got {size}"
    if found := re.fullmatch(r"Expected `str` matching regex '(.*)'", text, re.S):
        shown = _ANCHOR[1].replace("\\", "\\\\")  # msgspec shows the pattern's repr
        pattern = found[1].removeprefix(_ANCHOR[0]).removesuffix(shown)
        return f"must match {pattern}, got {value!r}"
    if found := re.fullmatch(r"Expected `([^`]+)`, got `\w+`", text):
        kinds = " or ".join(_KINDS.get(k, k) for k in found[1].split(" | "))
        return f"must be {kinds}, got {json_type(value)}"
    if text.startswith("Invalid RFC3339"):
        return f"must be an RFC 3339 timestamp, got {value!r}"
    if text == "Integer value out of range":
        return f"must be an integer in range, got {value}"
    return text[:1].lower() + text[1:]
