"""What the built site documents: the names in its ``objects.inv``, and the public ones missing.

mkdocstrings writes ``objects.inv`` in Sphinx's format (version 2): four header lines, then
zlib-compressed lines of ``name domain:role priority uri display-name``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from pathlib import Path

from docsite.api_pages import PublicName

HEADER = b"# Sphinx inventory version 2"


class InventoryError(ValueError):
    """The file is not a Sphinx inventory of version 2."""


def inventory_names(path: Path) -> set[str]:
    """Every object name the inventory at ``path`` lists."""
    data = path.read_bytes()
    parts = data.split(b"\n", 4)
    if len(parts) < 5 or parts[0] != HEADER:
        raise InventoryError(f"{path}: not a Sphinx inventory (version 2)")
    try:
        text = zlib.decompress(parts[4]).decode()
    except zlib.error as exc:
        raise InventoryError(f"{path}: its body does not decompress ({exc})") from None
    return {line.split(" ", 1)[0] for line in text.splitlines() if line.strip()}


def missing(documented: set[str], public: Iterable[PublicName]) -> list[str]:
    """``module.name`` of each public name the site does not document, in order."""
    return [f"{n.module}.{n.name}" for n in public if n.anchor not in documented]
