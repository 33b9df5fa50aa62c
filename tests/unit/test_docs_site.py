"""The documentation site's generated pages (docsite/): what they list, and what fails them.

`make docs` (in .ci/run) builds the whole site with --strict, and its post-build hook fails
when a public name is missing from objects.inv; these tests prove each piece of that logic
on small inputs, and that the README stays a landing page whose picture is the app's.
"""

from __future__ import annotations

import re
import textwrap
import zlib
from pathlib import Path

import pytest
import typer

from docsite import api_pages, cli_page, inventory, knobs
from sluice.app import load_app
from sluice.cli import build
from sluice.tools import graph
from sluice.topology import Topology

ROOT = Path(__file__).resolve().parents[2]


def _package(root: Path, name: str, files: dict[str, str]) -> Path:
    """A package ``name`` under ``root`` with these modules (``__init__`` included)."""
    folder = root / name
    folder.mkdir(parents=True)
    for module, text in files.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(text))
    return root


def _inventory(path: Path, names: list[str]) -> Path:
    """An objects.inv as mkdocstrings writes it, listing ``names``."""
    header = b"# Sphinx inventory version 2\n# Project: x\n# Version: 0\n# zlib follows\n"
    body = "".join(f"{n} py:function 1 #{n} -\n" for n in names).encode()
    path.write_bytes(header + zlib.compress(body))
    return path


def test_public_names_are_the_packages_all_when_it_has_one(tmp_path: Path) -> None:
    # GIVEN a package that declares __all__, with a name left out of it
    root = _package(
        tmp_path,
        "declared",
        {
            "__init__": """
                from declared.impl import kept, left_out
                __all__ = ["kept"]
            """,
            "impl": "def kept(): ...\ndef left_out(): ...\n",
        },
    )
    # WHEN its public names are read / THEN they are exactly __all__
    assert [n.name for n in api_pages.public_names("declared", [root])] == ["kept"]


def test_without_all_the_public_names_are_those_it_defines(tmp_path: Path) -> None:
    # GIVEN a module with no __all__: definitions, a private one, imports and a submodule
    root = _package(
        tmp_path,
        "plain",
        {
            "__init__": """
                from __future__ import annotations
                import json
                from pathlib import Path
                LIMIT = 3
                def run() -> None: ...
                class Thing: ...
                def _hidden() -> None: ...
            """,
            "sub": "X = 1\n",
        },
    )
    names = [n.name for n in api_pages.public_names("plain", [root])]
    # THEN only what it defines without a leading underscore
    assert names == ["LIMIT", "run", "Thing"]


def test_a_name_imported_over_its_submodule_is_found_where_it_is_defined(
    tmp_path: Path,
) -> None:
    # GIVEN a package exporting `run`, the function, from its submodule `run`
    root = _package(
        tmp_path,
        "shadow",
        {"__init__": 'from shadow.run import run\n__all__ = ["run"]\n', "run": "def run(): ...\n"},
    )
    (found,) = api_pages.public_names("shadow", [root])
    # THEN its entry is rendered, and looked up in the inventory, where it is defined
    assert found.anchor == "shadow.run.run" and found.shadowed
    assert "::: shadow.run.run" in api_pages.page("shadow", [found])


def test_the_api_reference_has_a_page_for_every_sluice_module_the_app_imports(
    tmp_path: Path,
) -> None:
    # GIVEN an app whose code imports sluice modules both ways
    (tmp_path / "workers").mkdir()
    (tmp_path / "app.py").write_text("from sluice.things import Thing\nimport json\n")
    (tmp_path / "workers" / "w.py").write_text("import sluice.other.deep\nfrom . import x\n")
    # THEN each is documented, beside the front doors
    found = api_pages.app_imports(tmp_path, ("app.py", "workers"))
    assert found == {"sluice.things", "sluice.other.deep"}
    # and for the reference app itself: every module it imports has a page
    modules = api_pages.documented_modules(ROOT)
    assert api_pages.app_imports(ROOT) <= set(modules)
    assert {"sluice", "sluice.app", "sluice.testing", "sluice.target"} <= set(modules)
    assert modules.index("sluice.runtime") < modules.index("sluice.runtime.relay")


def test_missing_lists_each_public_name_absent_from_the_inventory(tmp_path: Path) -> None:
    # GIVEN an inventory that documents one of two public names
    path = _inventory(tmp_path / "objects.inv", ["pkg.kept", "pkg.kept.method", "pkg"])
    public = [
        api_pages.PublicName("pkg", "kept", "pkg.kept"),
        api_pages.PublicName("pkg", "gone", "pkg.gone"),
    ]
    # WHEN the names are compared / THEN the absent one is named, as the build names it
    assert inventory.missing(inventory.inventory_names(path), public) == ["pkg.gone"]


def test_a_file_that_is_no_inventory_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "objects.inv"
    bad.write_text("<html>not an inventory</html>\n")
    with pytest.raises(inventory.InventoryError, match="not a Sphinx inventory"):
        inventory.inventory_names(bad)


def test_the_cli_page_lists_every_command_and_option_as_help_prints_it() -> None:
    # GIVEN a typer app with a group, an option whose help has markup-like text, and a
    # paragraph click keeps unwrapped
    app = typer.Typer()
    queue = typer.Typer(help="Work on queues.")
    app.add_typer(queue, name="queue")

    @queue.command()
    def drain(
        name: str = typer.Argument(help="The queue."),
        rate: int = typer.Option(10, help="At most <n> a second, *not* more."),
    ) -> None:
        """Drain a queue.

        \b
        Examples:
          tool queue drain q1 --rate 5
        """

    @app.command()
    def ping() -> None:
        """Say pong."""

    page = cli_page.page(app, name="tool")
    # THEN every command has its heading, usage and each option with type and default
    for heading in ("## `tool`", "### `tool queue`", "#### `tool queue drain`", "### `tool ping`"):
        assert heading in page
    assert "- `--rate <int>`: At most &lt;n&gt; a second, \\*not\\* more.  [default: 10]" in page
    assert "```text\nExamples:\n  tool queue drain q1 --rate 5\n```" in page
    assert "[`drain`](#tool-queue-drain)" in page


def test_the_cli_page_of_sluice_has_every_command_and_option() -> None:
    page = cli_page.page(build())
    root = typer.main.get_command(build())
    commands = [("sluice", root)]
    while commands:
        path, command = commands.pop()
        assert f"`{path}`" in page, path
        for param in command.params:
            # an option by each of its names, an argument by what --help calls it
            option = param.param_type_name == "option"
            names = param.opts if option else [param.metavar or param.name]
            for name in names:
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", page), (path, name)
        subs = getattr(command, "commands", {})
        commands += [(f"{path} {name}", sub) for name, sub in subs.items()]


def test_an_undocumented_knob_fails_the_declaration_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a declaration dataclass with one field lacking a docstring
    root = _package(
        tmp_path,
        "decl",
        {
            "__init__": '''
                from dataclasses import dataclass

                @dataclass
                class Thing:
                    """A thing."""

                    size: int = 3
                    """How big it is."""
                    colour: str = "red"
            ''',
        },
    )
    monkeypatch.syspath_prepend(str(root))
    # WHEN its knobs are listed / THEN the build would stop, naming the field
    with pytest.raises(knobs.UndocumentedKnobError, match=r"decl\.Thing\.colour"):
        knobs.field_lines("decl.Thing", (), [str(root)])


def test_every_app_and_worker_knob_is_on_the_declaration_page() -> None:
    page = knobs.page({"sluice.app.App"}, [ROOT])
    for field in ("catalog", "tables", "schedules", "producer_accounts", "runtimes"):
        assert f"**`{field}`**" in page
    for field in ("batch_size", "max_concurrency", "timeout_s", "group_by", "max_job_s"):
        assert f"**`{field}`**" in page
    assert "[`sluice.app.App`][sluice.app.App]" in page
    assert "**`module`**" not in page and "**`given_registry`**" not in page


def test_make_docs_builds_strict_and_ci_runs_it_after_the_tests() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^docs:.*\n\t(.*)$", makefile, re.M)
    assert recipe and "mkdocs build --strict" in recipe.group(1)
    # --quiet hides the warnings --strict counts: a broken link would pass
    assert not re.search(r"\s(-q|--quiet)\b", recipe.group(1))
    assert "graphviz" in recipe.group(0)  # the flow drawing needs dot
    # CI builds it in the release dry run, after the tests
    steps = (ROOT / ".ci" / "run").read_text().splitlines()
    assert steps.index("make release-check") > next(
        i for i, s in enumerate(steps) if "make test" in s
    )
    release_check = re.search(r"^release-check:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert release_check and "$(MAKE) docs" in release_check.group(1)
    assert "site/" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_readme_is_a_landing_page_whose_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    assert "make test" in readme and "make demo" in readme
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"


def test_the_readme_picture_shows_every_node_and_edge_of_the_reference_flow() -> None:
    # the picture is committed (GitHub shows no generated file); it must be the app's today
    flow = graph.flow(Topology(load_app(ROOT)))
    svg = (ROOT / "docs/assets/reference-pipeline.svg").read_text()
    titles = {t.replace("&#45;&gt;", "->") for t in re.findall(r"<title>([^<]*)</title>", svg)}
    drawn = {f"{a}->{b}" for a, b, _, _ in flow.edges} | set(flow.nodes) | {"sluice"}
    assert titles == drawn, (
        "docs/assets/reference-pipeline.svg is not the reference app's flow: run "
        "`sluice graph --format svg -o docs/assets/reference-pipeline.svg`"
    )
