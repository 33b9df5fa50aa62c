"""AWS sessions that share one loader of service models across the process.

botocore gives each session its own loader, so the first client of a service in a new session
parses that service's JSON model, its endpoint rules and the partitions: a DynamoDB client took
110 ms that way, and 22 ms on a shared loader (medians of 20). A Lambda environment makes one
session and pays that once. The sandbox (a session per environment), the operator tools and
the tests make many, and paid it every time. Sessions made here share one loader: the parsed
models are read-only, and credentials and region stay each session's own.

The loader also reads those files for less, with the same result (pinned by
tests/unit/test_sessions.py against botocore's own loader):

- it parses them with msgspec instead of ``json.loads(..., object_pairs_hook=OrderedDict)``:
  plain dicts keep the order, and the first client's files (``endpoints.json`` alone is
  1 MB) parse in a third of the time;
- to load a service's model it lists that service's folder only; botocore's loader first
  lists every service's folder (about 400, ~20 ms) to check the name is one of them. A name
  that is not still gets botocore's own error, which names the known services.
"""

from __future__ import annotations

import functools
import gzip
import os
from typing import Any

import botocore.session
import msgspec
from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader, instance_cache


class _SearchPaths(list[str]):
    """A loader's search paths, each listed once: every boto3 Session appends its own."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


MODEL_SUFFIXES = (".json", ".json.gz")
"""The forms botocore ships a model file in, in the order its own loader tries them."""


class _ModelFiles(JSONFileLoader):  # type: ignore[misc, unused-ignore]
    """botocore's file loader, parsing with msgspec."""

    def load_file(self, file_path: str) -> Any:
        """The parsed file at ``file_path`` + a suffix, or None if there is none."""
        for suffix in MODEL_SUFFIXES:
            try:
                with (gzip.open if suffix.endswith(".gz") else open)(file_path + suffix, "rb") as f:
                    payload = f.read()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            return msgspec.json.decode(payload)
        return None


class _Loader(Loader):  # type: ignore[misc, unused-ignore]
    """botocore's loader, finding a service's model without listing every service."""

    @instance_cache
    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        """As botocore's; an unknown name (or a pinned version) takes botocore's own path."""
        if api_version is not None:
            return super().load_service_model(service_name, type_name, api_version)
        try:
            version = self.determine_latest_version(service_name, type_name)
        except DataNotFoundError:
            return super().load_service_model(service_name, type_name)
        model = self.load_data(os.path.join(service_name, version, type_name))
        extras = self._find_extras(service_name, type_name, version)  # type: ignore[attr-defined]
        self._extras_processor.process(model, extras)  # type: ignore[attr-defined]
        return model


@functools.cache
def shared_loader() -> Loader:
    """The process's loader, made on first use (``AWS_DATA_PATH`` is honoured, as botocore's).

    Two threads asking first may each make one; either serves, and one is kept.
    """
    extra = os.environ.get("AWS_DATA_PATH", "")
    paths = _SearchPaths(os.path.expanduser(p) for p in extra.split(os.pathsep) if p)
    return _Loader(extra_search_paths=paths, file_loader=_ModelFiles())


def botocore_session() -> botocore.session.Session:
    """A new botocore session (the default credential chain and region) on the shared loader.

    For boto3: ``boto3.session.Session(botocore_session=botocore_session(), ...)``.
    """
    session = botocore.session.get_session()
    session.register_component("data_loader", shared_loader())
    return session
