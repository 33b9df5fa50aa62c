"""A tiny app for the ``sluice work`` tests: jobs that sleep, then count their effect."""
