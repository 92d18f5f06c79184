"""The built wheel carries the plugins, weights and model cards, and works once installed.

The wheel is built from a copy of the source tree (so the checkout gets no build/ folder),
installed with pip into a private folder with no network and no dependencies, and used
from a fresh interpreter that sees that folder and the venv's third-party packages but not
the editable install of ganzoo.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

import ganzoo
from ganzoo.registry.catalog import Registry
from ganzoo.registry.discovery import load_plugins

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "LICENSE.txt", "MANIFEST.in", "ganzoo", "plugins", "model_cards")


def builtin_registry() -> Registry:
    manager, infos = load_plugins(entry_points=False)
    return Registry(manager, infos)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        elif path.is_file():
            shutil.copy2(path, source / name)
    # --no-isolation: use the venv's setuptools (no network); the dependency check would ask for
    # the separate 'wheel' package, which setuptools >= 70.1 no longer needs to build wheels
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--skip-dependency-check",
         "--outdir", str(work / "dist"), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    wheels = list((work / "dist").glob("ganzoo-*.whl"))
    assert len(wheels) == 1, wheels
    target = work / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", "--quiet",
         "--target", str(target), str(wheels[0])],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    return {"wheel": wheels[0], "target": target, "work": work}


def run_installed(installed: dict[str, Path], code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with only the installed wheel and the venv's dependencies importable (``-S``)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("GANZOO_", "PYTHON"))}
    environment["PYTHONPATH"] = os.pathsep.join([str(installed["target"]), sysconfig.get_paths()["purelib"]])
    environment["XDG_CACHE_HOME"] = str(installed["work"] / "cache")
    environment["GANZOO_LOAD_PLUGINS"] = ""  # the built-ins only
    return subprocess.run(
        [sys.executable, "-S", "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=240, env=environment, cwd=installed["work"],
    )


def test_wheel_holds_plugins_weights_and_model_cards(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for module in ("ganzoo_plugins/__init__.py", "ganzoo_plugins/weights/__init__.py",
                   "ganzoo_plugins/model_cards/__init__.py", "ganzoo/models/__init__.py", "ganzoo/cli/sample.py"):
        assert module in names
    assert not any(name.startswith(("plugins/", "model_cards/")) for name in names)  # no generic top-level names
    for path in (ROOT / "plugins" / "weights").glob("*.safetensors"):
        assert f"ganzoo_plugins/weights/{path.name}" in names
    for path in (ROOT / "model_cards").iterdir():  # the cards and the pictures they show
        if path.suffix in (".md", ".png", ".gif"):
            assert f"ganzoo_plugins/model_cards/{path.name}" in names
    for spec in builtin_registry().models.records.values():
        for weights in spec.weights:
            if weights.package and weights.filename:
                member = f"{weights.package.replace('.', '/')}/{weights.filename}"
                assert member in names, f"{spec.name}.{weights.tag} is not in the wheel"
            if weights.card:
                assert f"ganzoo_plugins/model_cards/{weights.card}" in names


def test_installed_wheel_lists_and_loads_offline(installed):
    registry = builtin_registry()
    pretrained = {
        f"{spec.name}.{w.tag}": [2, *ganzoo.create(spec.name).sample_shape]
        for spec in registry.models.records.values()
        for w in spec.weights
    }
    target = str(installed["target"])
    done = run_installed(installed, f"""
        import json, sys
        from importlib import resources
        import ganzoo, ganzoo_plugins
        assert ganzoo.__file__.startswith({target!r}), ganzoo.__file__
        assert str(resources.files("ganzoo_plugins.weights")).startswith({target!r})
        from ganzoo.cli.app import main
        try:
            main(["list"])
        except SystemExit as exit:
            assert not exit.code, exit.code
        shapes = {{}}
        for name in {sorted(pretrained)!r}:
            generator = ganzoo.load(name, download=False)
            assert generator.source.startswith("ganzoo_plugins"), generator.source
            shapes[name] = list(generator.sample(2, seed=0).shape)
        print("SHAPES", json.dumps(shapes))
        if shapes:
            try:
                main(["sample", sorted(shapes)[0], "-n", "4", "-o", "grid.png", "--seed", "0", "--offline"])
            except SystemExit as exit:
                assert not exit.code, exit.code
    """)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    listed = [line.split()[0] for line in done.stdout.splitlines()[1:] if line and not line.startswith("SHAPES")]
    assert set(registry.models.names()) <= set(listed)
    shapes = json.loads(done.stdout.split("SHAPES", 1)[1].splitlines()[0])
    assert shapes == pretrained
    assert (installed["work"] / "grid.png").is_file() == bool(pretrained)


def test_the_package_list_names_every_package_in_the_tree():
    """pyproject lists packages explicitly (so examples/ stays out); a new sub-package must be added there."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the test extra installs tomli
        import tomli as tomllib

    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(settings["packages"])
    folders = {"ganzoo": ROOT / "ganzoo", **{name: ROOT / path for name, path in settings["package-dir"].items()}}
    found = set()
    for top, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            found.add(".".join((top, *relative)))
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == set(), "these listed packages do not exist"
