"""Sluice: the framework (runtime), the local sandbox, operator tools and the CLI.

The public API is what the ``__all__`` of the public modules name (docs/versioning.md lists
them); everything else may change in any release. ``sluice.__version__`` is the installed
distribution's version, read when asked: a Lambda never pays for the metadata lookup.
"""

from __future__ import annotations

DISTRIBUTION = "sluice-aws"
"""The distribution's name on the package index (the import package is ``sluice``)."""

__version__: str
"""The installed distribution's version (``pyproject.toml`` is its one source)."""

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    if name == "__version__":
        return installed_version()
    raise AttributeError(f"module 'sluice' has no attribute {name!r}")


def installed_version() -> str:
    """The installed ``sluice-aws`` version, or ``"unknown"`` where Sluice runs uninstalled
    (its code copied into a Lambda asset)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"
