"""A small app declared only by the infra tests: one streamed table, two workers, no API.

It is the shape ``sluice new`` lays out, so its template is held to the same checks as the
reference app's: every resource its declaration implies, least privilege, nag and lint.
"""
