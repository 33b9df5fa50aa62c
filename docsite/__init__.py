"""The documentation site's build (``make docs``): the pages generated from the code.

mkdocs loads ``docsite/hooks.py`` (named in ``mkdocs.yml``); the modules beside it each
write one kind of page: the CLI reference from the typer app, the API reference from each
public package's ``__all__``, the declaration knobs from the dataclasses' docstrings, and the
pages made by running ``sluice`` on the reference app (JSON Schemas, the flow drawing).
"""
