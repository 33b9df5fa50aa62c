"""Construct ids and the stack name, derived from the app's logical names."""

from __future__ import annotations

import re

_WORD_BREAK = re.compile(r"[-_]+")


def pascal(name: str) -> str:
    """``line_items`` -> ``LineItems``, ``my-shop`` -> ``MyShop``: a construct id."""
    return "".join(part[:1].upper() + part[1:] for part in _WORD_BREAK.split(name) if part)


def stack_id(app_prefix: str) -> str:
    """The stack's construct id (and its template's file name): the app's prefix, PascalCased.

    ``sluice`` -> ``Sluice``, ``acme`` -> ``Acme``: one stack per app, named after the prefix
    that already keeps the app's physical names apart from other apps'.
    """
    return pascal(app_prefix)


def stack_name(app_prefix: str, prefix: str) -> str:
    """The CloudFormation stack name: the stack id, plus ``-<prefix>`` for another prefix."""
    base = stack_id(app_prefix)
    return base if prefix == app_prefix else f"{base}-{prefix}"
