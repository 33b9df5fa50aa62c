"""The event catalog: every contract by (type, version), and the one decode path."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from sluice.core.envelope import Envelope, Wire, envelope_from_dict, from_wire, parse_json
from sluice.core.errors import ContractError, UnknownEventTypeError, UnsupportedVersionError
from sluice.core.schema import Model, load

_FAST_PATH_FAILURES = (msgspec.MsgspecError, ValueError, RecursionError)
"""What the one-pass decode raises on bad bytes; the slow path then names every problem."""
_WIRE = msgspec.json.Decoder(Wire[msgspec.Raw])


@dataclass(frozen=True, slots=True)
class Contract:
    """One version of one event type and the model its ``data`` must satisfy."""

    type: str
    version: int
    model: builtins.type[Any]


class Catalog:
    """The contracts a process knows. Decoding anything else is a permanent error."""

    def __init__(self, contracts: Iterable[Contract]) -> None:
        self._by_key: dict[tuple[str, int], Contract] = {}
        self._decoders: dict[tuple[str, int], msgspec.json.Decoder[Any]] = {}
        for contract in contracts:
            key = (contract.type, contract.version)
            if key in self._by_key:
                raise ValueError(f"contract {contract.type} v{contract.version} is declared twice")
            if not (isinstance(contract.model, type) and issubclass(contract.model, Model)):
                raise TypeError(
                    f"contract {contract.type} v{contract.version}: {contract.model!r} is not "
                    "a payload model; declare it as `class Name(sluice.core.Model)` with "
                    "`Annotated[type, rules(...)]` fields"
                )
            self._by_key[key] = contract
        self._latest: dict[str, int] = {}
        for event_type, version in self._by_key:
            self._latest[event_type] = max(version, self._latest.get(event_type, 0))

    @property
    def types(self) -> frozenset[str]:
        """Every event type the catalog knows."""
        return frozenset(self._latest)

    def __iter__(self) -> Iterator[Contract]:
        """Every contract, by type then version."""
        return iter(sorted(self._by_key.values(), key=lambda c: (c.type, c.version)))

    def latest(self, event_type: str) -> int:
        """The newest version known for ``event_type``."""
        self._require_type(event_type)
        return self._latest[event_type]

    def contract(self, event_type: str, version: int) -> Contract:
        """The contract for one version, or a precise error why there is none."""
        self._require_type(event_type)
        found = self._by_key.get((event_type, version))
        if found is None:
            raise UnsupportedVersionError(
                f"{event_type} v{version} is not supported: "
                f"this consumer knows up to v{self._latest[event_type]}"
            )
        return found

    def decode(self, body: str | bytes | Mapping[str, Any]) -> Envelope[Any]:
        """JSON (or a parsed document) -> an envelope whose ``data`` is the typed model.

        Bytes go through msgspec in one pass; if that fails, the body is parsed again and
        checked field by field so the ContractError names every problem.
        """
        if not isinstance(body, str | bytes):
            return self.validate(envelope_from_dict(dict(body)))
        try:
            wire = _WIRE.decode(body)
            self.contract(wire.type, wire.version)
            return from_wire(wire, self._decoder(wire.type, wire.version).decode(wire.data))
        except ContractError:
            raise
        except _FAST_PATH_FAILURES:
            pass
        return self.validate(envelope_from_dict(parse_json(body)))

    def validate(self, envelope: Envelope[Any]) -> Envelope[Any]:
        """Check ``envelope.data`` against its contract and return it typed."""
        contract = self.contract(envelope.type, envelope.version)
        return envelope.with_data(load(contract.model, envelope.data))

    def _decoder(self, event_type: str, version: int) -> msgspec.json.Decoder[Any]:
        """The contract's msgspec Decoder, built on first use (not at import: cold starts)."""
        key = (event_type, version)
        found = self._decoders.get(key)
        if found is None:
            found = self._decoders[key] = msgspec.json.Decoder(self._by_key[key].model)
        return found

    def _require_type(self, event_type: str) -> None:
        if event_type not in self._latest:
            known = ", ".join(sorted(self._latest))
            raise UnknownEventTypeError(f"unknown event type {event_type!r}; known types: {known}")
