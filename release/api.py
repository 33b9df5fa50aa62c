"""The public API, declared and guarded (docs/versioning.md says what the policy is).

Public are the names in the ``__all__`` of the modules in ``PUBLIC_MODULES``: a class with
its public members (``__init__`` and the other dunders too), a function with its
signature, a constant by its name. ``api.json`` beside this file is a snapshot of them as
they were at the last release; ``make lint`` runs ``check``, which compares the code with it
through griffe's breakage check and fails, naming each break, unless the version in
pyproject.toml is a major bump past the snapshot's (for 0.x, a minor bump: SemVer leaves
0.x open, and Sluice holds itself to the rule Cargo uses). Additions are never breaks.

The snapshot is a file in the repository, not a git tag: the check then works on a fresh
or shallow clone with no network and no tags, and a change to the baseline is a reviewed
diff. ``make api-snapshot`` rewrites it: when a release is cut, and when a major bump
accepts the breaks (the CHANGELOG names them).

    python -m release.api check      # exit 1 naming each break; 0 with none
    python -m release.api snapshot   # write api.json from the code as it is
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import griffe
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).with_name("api.json")
PUBLIC_MODULES = (
    "sluice",
    "sluice.app",
    "sluice.cdk",
    "sluice.core",
    "sluice.demo",
    "sluice.ops",
    "sluice.publisher",
    "sluice.rpc",
    "sluice.runtime",
    "sluice.runtime.relay",
    "sluice.target",
    "sluice.testing",
    "sluice.topology",
)
"""The modules whose ``__all__`` is the public API; every other module may change freely."""
_KEPT = ("kind", "name", "parameters", "returns", "bases", "labels", "members", "default")
"""What a snapshot keeps of an object: what griffe's breakage check reads, nothing else
(no docstrings or line numbers, so the file changes only when the API does)."""

Surface = dict[str, dict[str, griffe.Object]]
"""Public module -> public name -> the object (griffe's static model of it)."""


def public_names() -> dict[str, list[str]]:
    """Each public module's ``__all__``, as imported."""
    return {name: list(importlib.import_module(name).__all__) for name in PUBLIC_MODULES}


def surface(root: Path = ROOT) -> Surface:
    """The public API of the code under ``root``: each public name with the object it binds.

    The module is imported to learn what a name binds (``sluice.runtime.worker`` is the
    decorator, not the submodule of that name), and griffe reads the object's signature
    from the source.
    """
    package = griffe.load("sluice", search_paths=[root], resolve_aliases=True)
    assert isinstance(package, griffe.Module)
    return {
        module: {name: _model(package, module, name) for name in names}
        for module, names in public_names().items()
    }


def _model(package: griffe.Module, module: str, name: str) -> griffe.Object:
    """griffe's object for ``module.name``, found where the imported object was defined."""
    bound = getattr(importlib.import_module(module), name)
    if (inspect.isclass(bound) or inspect.isfunction(bound)) and bound.__module__.startswith(
        "sluice"
    ):
        path = f"{bound.__module__}.{bound.__qualname__}"
    else:
        path = f"{module}.{name}"
    return _resolved(package if path == "sluice" else package[path.removeprefix("sluice.")])


def _resolved(found: griffe.Object | griffe.Alias) -> griffe.Object:
    """The object itself, through any re-exports."""
    return found.final_target if isinstance(found, griffe.Alias) else found


def snapshot(found: Surface, version: str) -> dict[str, Any]:
    """The JSON document ``api.json`` holds: the version, then each public object's shape."""
    return {
        "version": version,
        "modules": {
            module: {name: _shape(obj, name) for name, obj in sorted(names.items())}
            for module, names in found.items()
        },
    }


def _shape(obj: griffe.Object, name: str) -> dict[str, Any]:
    """An object as griffe serializes it, pruned to what the breakage check reads."""
    data: dict[str, Any] = json.loads(json.dumps(obj, cls=griffe.JSONEncoder, full=False))
    shaped = {key: value for key, value in data.items() if key in _KEPT}
    shaped["name"] = name
    if obj.is_class:
        shaped["members"] = {
            member: _shape(target, member) for member, target in _class_members(obj)
        }
    for parameter in shaped.get("parameters", []):
        # griffe compares parameters by name, kind and default, not by annotation (yet)
        parameter.pop("docstring", None)
        parameter.pop("annotation", None)
    # a return type matters only by whether there is one; bases only by how many
    if isinstance(obj, griffe.Function):
        shaped["returns"] = None if obj.returns is None else str(obj.returns)
    if isinstance(obj, griffe.Class):
        shaped["bases"] = [str(base) for base in obj.bases]
    return shaped


def _class_members(cls: griffe.Object) -> Iterator[tuple[str, griffe.Object]]:
    """A class's public members, inherited ones included, each resolved to its object."""
    for member, found in sorted(cls.all_members.items()):
        if member.startswith("_") and not found.is_special:
            continue
        try:
            yield member, _resolved(found)
        except griffe.AliasResolutionError:
            continue  # inherited from outside Sluice (a builtin, a library): not ours to guard


def breaks(old: Mapping[str, Any], found: Surface) -> list[str]:
    """Every incompatible change from the snapshot ``old`` to ``found``, one line each."""
    lines = []
    for module, names in old["modules"].items():
        for name, shape in names.items():
            then = _decoded(shape)
            now = found.get(module, {}).get(name)
            public = f"{module}.{name}" if module != name else module
            lines += [
                _explained(public, breakage, then, now)
                for breakage in griffe.find_breaking_changes(
                    _holding(module, name, then), _holding(module, name, now)
                )
            ]
    return lines


def _holding(module: str, name: str, obj: griffe.Object | None) -> griffe.Module:
    """A module standing for ``module`` whose one public member ``name`` is ``obj`` (none
    when the name is gone), through an alias on both sides, as griffe compares re-exports."""
    holder = griffe.Module(module)
    holder.exports = [name]
    if obj is not None:
        holder.set_member(name, griffe.Alias(name, target=obj))
    return holder


def dumps(value: Any, indent: str = "") -> str:
    """JSON a reviewer can read in a diff: what fits in a line on one line, the rest nested."""
    flat = json.dumps(value, sort_keys=True)
    if len(indent) + len(flat) <= 100 or not isinstance(value, dict | list) or not value:
        return flat
    inner = indent + " "
    if isinstance(value, list):
        items = [inner + dumps(item, inner) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    items = [f"{inner}{json.dumps(key)}: {dumps(value[key], inner)}" for key in sorted(value)]
    return "{\n" + ",\n".join(items) + "\n" + indent + "}"


def _decoded(shape: Mapping[str, Any]) -> griffe.Object:
    def hook(data: dict[str, Any]) -> Any:
        kind = data.get("kind")  # a members mapping may hold a member called "kind"
        if kind in _OBJECT_KINDS:
            data.setdefault("lineno", None)
            data.setdefault("returns", None)
        elif kind in _PARAMETER_KINDS:
            data.setdefault("annotation", None)
        return griffe.json_decoder(data)

    decoded: griffe.Object = json.loads(json.dumps(shape), object_hook=hook)
    return decoded


_OBJECT_KINDS = frozenset({"class", "function", "attribute"})
_PARAMETER_KINDS = frozenset(kind.value for kind in griffe.ParameterKind)


def _explained(
    public: str, breakage: griffe.Breakage, then: griffe.Object, now: griffe.Object | None
) -> str:
    """``sluice.app.Table.__init__(stream): Parameter was removed``, and what it was."""
    path = breakage.obj.path
    for side in (now, then):
        if side is not None and path.startswith(side.path):
            public += path.removeprefix(side.path)
            break
    if breakage.kind in _PARAMETER_BREAKS:
        parameter = breakage.old_value or breakage.new_value
        public = f"{public}({parameter.name})"
    return f"{public}: {breakage.kind.value}{_change(breakage)}"


_PARAMETER_BREAKS = {
    griffe.BreakageKind.PARAMETER_MOVED,
    griffe.BreakageKind.PARAMETER_REMOVED,
    griffe.BreakageKind.PARAMETER_CHANGED_KIND,
    griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT,
    griffe.BreakageKind.PARAMETER_CHANGED_REQUIRED,
    griffe.BreakageKind.PARAMETER_ADDED_REQUIRED,
}


def _change(breakage: griffe.Breakage) -> str:
    kind = breakage.kind
    if kind is griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT:
        return f" ({breakage.old_value.default} -> {breakage.new_value.default})"
    if kind is griffe.BreakageKind.PARAMETER_CHANGED_KIND:
        return f" ({breakage.old_value.kind.value} -> {breakage.new_value.kind.value})"
    if kind is griffe.BreakageKind.OBJECT_CHANGED_KIND:
        return f" ({breakage.old_value.value} -> {breakage.new_value.value})"
    if breakage.details:
        return f" ({breakage.details})"
    return ""


def compatible_line(version: str) -> tuple[int, ...]:
    """What must stay equal for two versions to be compatible: the major, or for 0.x the
    minor too."""
    parsed = Version(version)
    return (0, parsed.minor) if parsed.major == 0 else (parsed.major,)


def project_version(root: Path = ROOT) -> str:
    """The version pyproject.toml declares (the one place it is written)."""
    with (root / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def check(root: Path = ROOT, baseline: Path = SNAPSHOT) -> tuple[int, str]:
    """The exit status and the report of ``python -m release.api check``."""
    if not baseline.is_file():
        return 1, f"error: {baseline} is missing: write it with `make api-snapshot`"
    old = json.loads(baseline.read_text())
    found = breaks(old, surface(root))
    version = project_version(root)
    if not found:
        return 0, f"public API: no breaking change since {old['version']} ({baseline.name})"
    listed = "\n".join(f"  {line}" for line in found)
    if compatible_line(version) > compatible_line(old["version"]):
        return 0, (
            f"public API: {len(found)} breaking change(s) since {old['version']}, allowed by "
            f"the major bump to {version} (name them in CHANGELOG.md):\n{listed}"
        )
    return 1, (
        f"error: {len(found)} breaking change(s) to the public API since {old['version']} "
        f"({baseline.name}), and {version} is no major bump:\n{listed}\n"
        "Restore what the list names, or bump the major version in pyproject.toml (0.x: the "
        "minor) and say so in CHANGELOG.md; docs/versioning.md has the policy."
    )


def main(argv: list[str]) -> int:
    """``check`` or ``snapshot``."""
    if argv == ["snapshot"]:
        document = snapshot(surface(), project_version())
        SNAPSHOT.write_text(dumps(document) + "\n")
        print(f"wrote {SNAPSHOT.relative_to(ROOT)}: the public API of {document['version']}")
        return 0
    if argv == ["check"]:
        status, report = check()
        print(report, file=sys.stderr if status else sys.stdout)
        return status
    print("usage: python -m release.api check|snapshot", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
