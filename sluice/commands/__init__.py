"""Every ``sluice`` command (typer + rich), each module thin over the framework module it drives.

``publish`` (the publisher), ``sandbox`` (``up``, ``demo``), ``tools`` (``invoke``, ``trace``,
``graph``) and ``dlq`` (``sluice.ops``); ``sluice.cli`` mounts them.
"""
