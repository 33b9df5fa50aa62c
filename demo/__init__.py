"""The reference app's demo for ``sluice demo``: ``App(demo="demo:OrdersDemo")``."""

from demo.orders import OrdersDemo

__all__ = ["OrdersDemo"]
