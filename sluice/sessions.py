"""AWS sessions that share one loader of service models across the process.

botocore gives each session its own loader, so the first client of a service in a new session
parses that service's JSON model, its endpoint rules and the partitions: a DynamoDB client took
110 ms that way, and 22 ms on a shared loader (medians of 20). A Lambda environment makes one
session and pays that once. The sandbox (a session per environment), the operator tools and
the tests make many, and paid it every time. Sessions made here share one loader: the parsed
models are read-only, and credentials and region stay each session's own.
"""

from __future__ import annotations

import functools
import os

import botocore.session
from botocore.loaders import Loader


class _SearchPaths(list[str]):
    """A loader's search paths, each listed once: every boto3 Session appends its own."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def shared_loader() -> Loader:
    """The process's loader, made on first use (``AWS_DATA_PATH`` is honoured, as botocore's).

    Two threads asking first may each make one; either serves, and one is kept.
    """
    extra = os.environ.get("AWS_DATA_PATH", "")
    paths = _SearchPaths(os.path.expanduser(p) for p in extra.split(os.pathsep) if p)
    return Loader(extra_search_paths=paths)


def botocore_session() -> botocore.session.Session:
    """A new botocore session (the default credential chain and region) on the shared loader.

    For boto3: ``boto3.session.Session(botocore_session=botocore_session(), ...)``.
    """
    session = botocore.session.get_session()
    session.register_component("data_loader", shared_loader())
    return session
