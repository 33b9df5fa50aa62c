"""mkdocs hooks (``mkdocs.yml``: ``hooks: [docsite/hooks.py]``): the generated pages.

- ``on_pre_build``: the sources are read afresh (``mkdocs serve`` rebuilds in one process).
- ``on_config``: the API reference's pages go into the nav, one per documented package.
- ``on_files``: the generated pages join the site's files: the CLI reference, the API
  reference, the declaration's knobs, the JSON Schemas, the flow drawing, and the benchmark
  and mutation reports.
- ``on_post_build``: the build fails when a public name is missing from ``objects.inv``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # mkdocs loads this file by path, not as a package module
    sys.path.insert(0, str(ROOT))

from docsite import api_pages, cli_page, generated, inventory, knobs  # noqa: E402
from sluice.cli import build as build_cli  # noqa: E402

API_INDEX = "reference/api/index.md"
SCHEMAS = "reference/schemas"
FLOW_SVG = "assets/generated/reference-app.svg"
REPORTS = {
    "proof/benchmarks.md": (
        "bench/RESULTS.md",
        "_Included when the site is built from `bench/RESULTS.md`, which `make bench` writes._",
    ),
    "proof/mutation.md": (
        "bench/MUTATION.md",
        "_Included when the site is built from `bench/MUTATION.md`, which `make mutate` updates._",
    ),
}


def _public() -> dict[str, list[api_pages.PublicName]]:
    return {
        module: api_pages.public_names(module, [ROOT])
        for module in api_pages.documented_modules(ROOT)
    }


def on_pre_build(config: MkDocsConfig) -> None:
    """Read the sources afresh on every build (``mkdocs serve`` rebuilds in one process)."""
    api_pages.forget_sources()


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Put one nav entry per documented package after the API reference's index."""
    pages = [{m: f"reference/api/{m}.md"} for m in api_pages.documented_modules(ROOT)]
    if not _expand(config.nav or [], pages):
        raise PluginError(f"mkdocs.yml: the nav has no entry for {API_INDEX}")
    return config


def _expand(nav: list[Any], pages: list[dict[str, str]]) -> bool:
    """Replace the section holding ``API_INDEX`` with it and ``pages``; True if found."""
    for i, entry in enumerate(nav):
        if isinstance(entry, dict):
            for title, value in entry.items():
                if value == API_INDEX:
                    nav[i] = {title: [{"Overview": API_INDEX}, *pages]}
                    return True
                if isinstance(value, list) and _expand(value, pages):
                    return True
    return False


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add every generated page and picture to the site."""
    try:
        public = _public()
        documented = {n.anchor for names in public.values() for n in names}
        pages: dict[str, str | bytes] = {
            "reference/cli.md": cli_page.page(build_cli()),
            "reference/declaration.md": knobs.page(documented, [ROOT]),
            API_INDEX: api_pages.index(public),
            FLOW_SVG: generated.flow_svg(ROOT),
        }
        pages.update(
            {f"reference/api/{m}.md": api_pages.page(m, names) for m, names in public.items()}
        )
        schemas = generated.schemas(ROOT)
        pages[f"{SCHEMAS}.md"] = generated.schemas_page(schemas, "schemas")
        pages.update({f"{SCHEMAS}/{s.file}": s.text for s in schemas})
        for page, (report, note) in REPORTS.items():
            pages[page] = generated.included(ROOT / report, note)
    except (generated.CommandFailedError, knobs.UndocumentedKnobError, OSError) as exc:
        raise PluginError(str(exc)) from None
    for uri, content in pages.items():
        if files.get_file_from_path(uri) is not None:
            raise PluginError(f"docs/{uri} is generated when the site is built; remove it")
        files.append(File.generated(config, uri, content=content))
    return files


def on_post_build(config: MkDocsConfig) -> None:
    """Fail the build when a public name has no entry in the site's ``objects.inv``."""
    names = inventory.inventory_names(Path(config.site_dir) / "objects.inv")
    absent = inventory.missing(names, [n for found in _public().values() for n in found])
    if absent:
        raise PluginError(
            f"the API reference misses {len(absent)} public name(s): {', '.join(absent)}"
        )
