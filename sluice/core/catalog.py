"""The event catalog: every contract by (type, version), and the one decode path."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sluice.core.envelope import Envelope, envelope_from_dict, parse_json
from sluice.core.errors import UnknownEventTypeError, UnsupportedVersionError
from sluice.core.schema import load


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
        for contract in contracts:
            key = (contract.type, contract.version)
            if key in self._by_key:
                raise ValueError(f"contract {contract.type} v{contract.version} is declared twice")
            self._by_key[key] = contract
        self._latest: dict[str, int] = {}
        for event_type, version in self._by_key:
            self._latest[event_type] = max(version, self._latest.get(event_type, 0))

    @property
    def types(self) -> frozenset[str]:
        """Every event type the catalog knows."""
        return frozenset(self._latest)

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
        """JSON (or a parsed document) -> an envelope whose ``data`` is the typed model."""
        doc = parse_json(body) if isinstance(body, str | bytes) else dict(body)
        return self.validate(envelope_from_dict(doc))

    def validate(self, envelope: Envelope[Any]) -> Envelope[Any]:
        """Check ``envelope.data`` against its contract and return it typed."""
        contract = self.contract(envelope.type, envelope.version)
        return envelope.with_data(load(contract.model, envelope.data))

    def _require_type(self, event_type: str) -> None:
        if event_type not in self._latest:
            known = ", ".join(sorted(self._latest))
            raise UnknownEventTypeError(f"unknown event type {event_type!r}; known types: {known}")
