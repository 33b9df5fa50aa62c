"""Sluice: the framework (runtime), the local sandbox, operator tools and the CLI."""
