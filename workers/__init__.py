"""One module per worker. Each declares itself with ``@worker`` and exposes ``handler``."""
