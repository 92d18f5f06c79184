"""The package's shape, checked from the source: layers, no import cycles, one concept per module, and the
public API that plugins import (ARCHITECTURE.md explains the rules; run ``pytest tests/test_layout.py``).

The import graph is built with ``ast`` from every ``import`` in ganzoo/, including those inside functions
and under ``if TYPE_CHECKING:``: a lazy import is still a dependency, and a cycle of lazy imports is still
a cycle (it only fails later, at run time, in the one order nobody tested).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ganzoo"

# Bottom to top. A module may import its own unit and any unit of a lower layer, nothing else.
# A unit is a subpackage (``ganzoo.io``), or the foundation modules at the root together.
LAYERS: list[tuple[str, ...]] = [
    ("foundation",),  # ganzoo._version, errors, ranges, extras, nn, data, _moved
    ("io",),  # durable writes, output checks, untrusted input, folders, pictures
    ("registry",),  # the plugin system: hooks, discovery, records, builders, the catalog
    ("cards",),  # the model card and the export folder that carries it, weights files
    ("models",),  # the inference side: create, load, save, sample, the Hub
    ("metrics", "deploy"),  # evaluation; ONNX/TorchScript export
    ("training",),  # the trainer (it scores snapshots while it trains: --eval-every)
    ("facade",),  # ganzoo/__init__.py: the public API
    ("lightning", "gallery", "testing"),  # built on the public API and the trainer
    ("cli",),  # the command line, and ganzoo/__main__.py
]
LAYER_OF = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
MAX_ROOT_MODULES = 12
MAX_MODULE_LINES = 600
MIN_MODULE_LINES = 60

PLUGIN_API = (
    "ganzoo", "ganzoo.plugin_api", "ganzoo.errors", "ganzoo.nn", "ganzoo.data", "ganzoo.training", "ganzoo.testing",
)
"""What a plugin may import of ganzoo (docs/plugins/reference.md): every other module may move between releases."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def unit_of(module: str) -> str:
    parts = module.split(".")
    if module in ("ganzoo", "ganzoo.plugin_api"):
        return "facade"
    if module == "ganzoo.__main__":
        return "cli"
    if len(parts) == 2 and (PACKAGE / f"{parts[1]}.py").is_file():
        return "foundation"
    return parts[1]


def imports_of(path: Path, module: str) -> Iterator[tuple[str, int]]:
    """Every ganzoo module ``module`` imports (the longest existing dotted prefix of each name), with its line."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [f"{prefix}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                yield target, node.lineno


GRAPH = {module: sorted(set(imports_of(path, module))) for module, path in MODULES.items()}


def find_cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a set of modules in a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target, _ in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(GRAPH)))
    for node in GRAPH:
        if node not in index:
            visit(node)
    return cycles


def test_every_unit_has_a_layer():
    assert {unit_of(module) for module in MODULES} - set(LAYER_OF) == set()


def test_there_is_no_import_cycle():
    assert find_cycles() == []


def test_no_module_imports_from_a_higher_layer_or_a_sibling_unit():
    """The inference side (``models``) never imports the trainer; the registry never imports a model; ..."""
    wrong = [
        f"{module}:{line} imports {target} ({unit_of(module)} may not import {unit_of(target)})"
        for module, targets in GRAPH.items()
        for target, line in targets
        if unit_of(target) != unit_of(module) and LAYER_OF[unit_of(target)] >= LAYER_OF[unit_of(module)]
    ]
    assert wrong == []


def test_the_graph_sees_lazy_and_relative_imports():
    """The checks above are only as good as the graph: it must hold the imports made inside functions."""
    assert ("ganzoo.io.files", 17) not in GRAPH["ganzoo.errors"]
    assert any(target == "ganzoo.training" for target, _ in GRAPH["ganzoo"])  # the lazy public ``train``
    assert any(target == "ganzoo.models.device" for target, _ in GRAPH["ganzoo.training.parallel.distributed"])
    assert unit_of("ganzoo.models.loading") == "models" and unit_of("ganzoo.errors") == "foundation"


def test_the_root_holds_at_most_a_dozen_modules():
    root = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root


def test_one_concept_per_module():
    """No module over ~600 lines (it holds more than one concept: split it along its seam), and no sliver
    under ~60 lines that only one sibling imports (it is part of that sibling's concept: merge it back).

    A small module that several modules import, or that is public API (a package's ``__init__``, ``nn``,
    ``errors``), is one named idea and stays.
    """
    sources = {module: path.read_text(encoding="utf-8").count("\n") for module, path in MODULES.items()}
    sources.update(
        {f"plugins/{path.relative_to(ROOT / 'plugins')}": path.read_text(encoding="utf-8").count("\n")
         for path in (ROOT / "plugins").rglob("*.py")}
    )
    assert {name: lines for name, lines in sources.items() if lines > MAX_MODULE_LINES} == {}
    importers: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        for target, _ in targets:
            importers.setdefault(target, set()).add(module)
    slivers = {}
    for module, path in MODULES.items():
        if path.name in ("__init__.py", "__main__.py") or sources[module] >= MIN_MODULE_LINES:
            continue
        users = importers.get(module, set())
        siblings = {user for user in users if user.rpartition(".")[0] == module.rpartition(".")[0]}
        if len(users) == 1 and siblings:
            slivers[module] = (sources[module], sorted(users))
    assert slivers == {}


def test_the_built_in_plugins_import_only_the_plugin_api():
    """Built-ins are written as a third party writes a plugin, so moving an internal module never breaks one."""
    wrong = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            )
            wrong += [f"{path.relative_to(ROOT)}:{node.lineno} {name}" for name in names
                      if name.split(".")[0] == "ganzoo" and name not in PLUGIN_API]
    assert wrong == []


def test_the_plugin_api_is_what_the_plugin_reference_names():
    text = (ROOT / "docs" / "plugins" / "reference.md").read_text(encoding="utf-8")
    for module in PLUGIN_API:
        assert f"`{module}`" in text


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("ganzoo.files", "ganzoo.io.files", "write_atomic"),
        ("ganzoo.paths", "ganzoo.io.paths", "data_dir"),
        ("ganzoo.specs", "ganzoo.registry.records", "ModelSpec"),
        ("ganzoo.lossapi", "ganzoo.registry.loss_calls", "generator_loss"),
        ("ganzoo.training.device", "ganzoo.models.device", "resolve_device"),
        ("ganzoo.augment.policy", "ganzoo.training.practices.augment", "Augmenter"),
    ],
)
def test_an_old_module_path_still_imports_with_a_deprecation_warning(old, new, name):
    code = (
        "import importlib, warnings\n"
        "warnings.simplefilter('error', DeprecationWarning)\n"
        f"importlib.import_module({new!r})\n"  # the new path warns about nothing
        "warnings.simplefilter('always', DeprecationWarning)\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        f"    from {old} import {name} as value\n"
        f"assert value is getattr(importlib.import_module({new!r}), {name!r})\n"
        f"assert importlib.import_module({old!r}) is importlib.import_module({new!r})\n"
        f"assert importlib.import_module({new!r}).__spec__.name == {new!r}\n"
        "print([str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert f"{old.rpartition('.')[0] if old.startswith('ganzoo.augment.') else old} moved to {new}" in done.stdout


@pytest.mark.parametrize(
    ("package", "name", "new"),
    [
        ("ganzoo.registry", "get_registry", "ganzoo.registry.catalog"),
        ("ganzoo.cards", "MAX_LICENSE_NAME", "ganzoo.cards.card"),
    ],
)
def test_an_old_module_that_is_now_a_package_forwards_its_names(package, name, new):
    import importlib

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        value = getattr(importlib.import_module(package), name)
    assert value is getattr(importlib.import_module(new), name)
    assert next(str(w.message) for w in caught if w.category is DeprecationWarning).startswith(
        f"{package}.{name} moved to {new}.{name}"
    )
    with pytest.raises(AttributeError):
        _ = importlib.import_module(package).no_such_name
