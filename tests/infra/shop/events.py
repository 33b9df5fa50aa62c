"""The small app's one event: a cart was checked out."""

from __future__ import annotations

from typing import Annotated

from sluice.core import Catalog, Contract, Model, rules

CART_CHECKED_OUT = "cart.checked_out"


class CartCheckedOut(Model):
    """cart.checked_out v1."""

    cart_id: Annotated[str, rules(min_len=1, max_len=64)]


CATALOG = Catalog([Contract(CART_CHECKED_OUT, 1, CartCheckedOut)])
