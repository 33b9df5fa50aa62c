"""The emulator: a moto server with the app's topology, pollers that play Lambda's event source
mappings, the API over HTTP, and the ``Sandbox`` that runs them with one merged log.

Tools that use it are in ``sluice.tools``; ``sluice demo``'s harness is in ``sluice.demo``.
"""
