"""``hubconf.py``: ``torch.hub.load(repo, "dcgan_mnist")`` from this checkout, offline, with the bundled weights.

torch.hub.list and torch.hub.help only take GitHub repositories, so the entries are listed here
with torch.hub's own rule (the module's public callables) and their docstrings read directly.
The last test loads from a copy of the repository with ganzoo not installed, as torch.hub's
download of the GitHub repository is.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.errors import ConfigError, UnknownNameError

ROOT = Path(__file__).resolve().parent.parent


def hubconf():
    spec = importlib.util.spec_from_file_location("hubconf", ROOT / "hubconf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def builtin_models() -> list[str]:
    registry = ganzoo.get_registry()
    builtin = {info.name for info in registry.plugins if info.builtin}
    return sorted(name for name, spec in registry.models.records.items() if spec.plugin in builtin)


def test_one_entry_per_builtin_model_and_nothing_else():
    module = hubconf()
    entries = [f for f in dir(module) if callable(getattr(module, f)) and not f.startswith("_")]  # torch.hub.list
    assert entries == sorted(name.replace("-", "_") for name in builtin_models())
    assert {"dcgan_mnist", "dcgan_faces", "mlp_gan", "cgan_mnist"} <= set(entries)
    for name in module.dependencies:  # what torch.hub checks before it calls an entry
        assert importlib.util.find_spec(name) is not None, name


def pretrained_models() -> list[str]:
    """Built-ins with zoo weights (a model is registered before its first weights are trained)."""
    return [name for name in builtin_models() if ganzoo.get_model_spec(name).weights]


@pytest.mark.parametrize("model", pretrained_models())
def test_pretrained_entries_are_the_zoo_generators(model):
    generator = torch.hub.load(str(ROOT), model.replace("-", "_"), source="local", trust_repo=True)
    expected = ganzoo.load(model)
    assert isinstance(generator, torch.nn.Module) and not generator.training
    state, wanted = generator.state_dict(), expected.generator.state_dict()
    assert state.keys() == wanted.keys() and all(torch.equal(state[k], wanted[k]) for k in state)
    z = expected.latents(3, seed=0)
    labels = expected.class_labels(3)
    with torch.no_grad():
        assert torch.equal(generator(z, labels), expected.decode(z, labels))


def test_pretrained_false_builds_a_fresh_generator_with_options():
    fresh = torch.hub.load(str(ROOT), "dcgan_faces", source="local", pretrained=False, image_size=128)
    assert tuple(fresh.sample_shape) == (3, 128, 128) and fresh.latent_dim == 200  # the 128 preset
    untrained = torch.hub.load(str(ROOT), "dcgan_mnist", source="local", pretrained=False).state_dict()
    zoo = ganzoo.load("dcgan-mnist").generator.state_dict()
    assert untrained.keys() == zoo.keys() and not all(torch.equal(untrained[k], zoo[k]) for k in zoo)
    with pytest.raises(ConfigError, match="model options apply to pretrained=False"):
        torch.hub.load(str(ROOT), "dcgan_faces", source="local", image_size=128)
    with pytest.raises(UnknownNameError, match=r"unknown weights 'dcgan-mnist\.imagenet'\. Did you mean"):
        torch.hub.load(str(ROOT), "dcgan_mnist", source="local", weights="imagenet")


def test_each_entry_documents_itself():
    module = hubconf()
    for model in builtin_models():
        doc = getattr(module, model.replace("-", "_")).__doc__
        spec = ganzoo.get_model_spec(model)
        assert doc.startswith(spec.summary) and "pretrained (bool)" in doc and f"ganzoo info {model}" in doc
        assert ("generator(z, labels)" in doc) == spec.conditional


def test_a_checkout_that_is_not_installed_loads_too(tmp_path):
    """torch.hub downloads the repository and imports hubconf.py from it: ganzoo and its built-ins come from there."""
    checkout = tmp_path / "ganzoo-main"
    checkout.mkdir()
    for name in ("ganzoo", "plugins", "model_cards"):
        shutil.copytree(ROOT / name, checkout / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "hubconf.py", checkout)
    code = (
        "import sys, torch\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]\n"
        "sys.path[:] = [p for p in sys.path if p and 'wt-' not in p or 'site-packages' in p]\n"
        f"g = torch.hub.load({str(checkout)!r}, 'cgan_mnist', source='local', trust_repo=True)\n"
        "import ganzoo, ganzoo_plugins\n"
        "print(ganzoo.__file__); print(ganzoo_plugins.__file__); print(type(g).__name__, g.num_classes)\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith(str(checkout / "ganzoo")) and lines[1].startswith(str(checkout / "plugins"))
    assert lines[2].endswith(" 10")


def test_the_docs_list_every_entry():
    """The torch.hub paragraph (README, or a page under docs/ once it moves there) names exactly hubconf's entries."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    pattern = re.compile(r"`hubconf\.py` has one entry per built-in model \(([^)]*)\)")
    listed = [(page.name, match) for page in pages for match in pattern.findall(page.read_text(encoding="utf-8"))]
    assert listed, "no page says which entries hubconf.py has"
    module = hubconf()
    entries = sorted(f for f in dir(module) if callable(getattr(module, f)) and not f.startswith("_"))
    for page, names in listed:
        assert sorted(re.findall(r"`(\w+)`", names)) == entries, f"{page} lists {names}; hubconf.py has {entries}"
