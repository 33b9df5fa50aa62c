"""The small app's one event: a cart was checked out."""

from __future__ import annotations

from dataclasses import dataclass, field

from sluice.core import Catalog, Contract, rules

CART_CHECKED_OUT = "cart.checked_out"


@dataclass(frozen=True, slots=True)
class CartCheckedOut:
    """cart.checked_out v1."""

    cart_id: str = field(metadata=rules(min_len=1, max_len=64))


CATALOG = Catalog([Contract(CART_CHECKED_OUT, 1, CartCheckedOut)])
