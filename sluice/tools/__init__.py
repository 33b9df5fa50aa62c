"""Developer tools over an app and its sandbox: ``invoke`` one worker, ``trace`` one request,
``graph`` the whole flow. Not the emulator (``sluice.local``), not the demo (``sluice.demo``)."""
