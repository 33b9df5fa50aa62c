"""CLI commands that are not tied to the sandbox or to DLQ operations."""
