"""Operator tools: DLQ inspection and safe replay, stream-failure replay, tracing."""
