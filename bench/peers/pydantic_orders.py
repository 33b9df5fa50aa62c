"""The order.placed envelope as pydantic v2 models (what Powertools' parser validates with)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Id = Annotated[str, Field(min_length=1, max_length=128)]
NonEmpty = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    """Frozen, unknown fields refused, no coercion: the same rules as the contract."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class LineItem(Strict):
    """One line of an order."""

    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=1000)]
    unit_price_cents: Annotated[int, Field(ge=0, le=100_000_000)]


class OrderPlaced(Strict):
    """order.placed v1."""

    order_id: Id
    customer_id: Id
    items: Annotated[tuple[LineItem, ...], Field(min_length=1, max_length=99)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"


class PlacedEnvelope(Strict):
    """An order.placed envelope, its payload typed."""

    id: NonEmpty
    type: NonEmpty
    version: Annotated[int, Field(ge=1)]
    source: NonEmpty
    time: datetime
    correlation_id: NonEmpty
    causation_id: str | None
    data: OrderPlaced
