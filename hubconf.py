"""torch.hub entry points: one per built-in ganzoo model, each returning its generator (an ``nn.Module``).

    import torch
    g = torch.hub.load("ganzoo/ganzoo", "dcgan_mnist")                 # pretrained, eval mode
    images = g(torch.randn(16, g.latent_dim))                          # (16, 1, 28, 28) in [-1, 1]
    fresh = torch.hub.load("ganzoo/ganzoo", "dcgan_faces", pretrained=False, image_size=128)

The entries are made from ganzoo's registry (the built-in models, ``-`` written ``_``), so a
built-in model added to ganzoo has its entry here without an edit. ``pretrained=True`` loads
``ganzoo.load(NAME)`` (``weights="TAG"`` picks another weights entry), hash-checked, from the
weights inside the repository; ``pretrained=False`` builds ``ganzoo.create(NAME, **options)``.
For ``.sample(...)``, ``.interpolate(...)`` and the model card, use ganzoo itself.
"""

from __future__ import annotations

import importlib.util as _importlib_util
import sys as _sys
from pathlib import Path as _Path

# torch.hub.list shows every public callable of this module: everything but the entries is private.
dependencies = ["torch", "safetensors", "pluggy", "numpy"]

_ROOT = _Path(__file__).resolve().parent


def _package(name: str, folder: _Path) -> None:
    init = folder / "__init__.py"
    spec = _importlib_util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
    module = _importlib_util.module_from_spec(spec)
    _sys.modules[name] = module
    spec.loader.exec_module(module)


def _builtins_importable() -> None:
    """A checkout that torch.hub downloaded is not installed: map ``ganzoo_plugins`` to plugins/ as pyproject does."""
    if "ganzoo_plugins" in _sys.modules or _importlib_util.find_spec("ganzoo_plugins") is not None:
        return
    _package("ganzoo_plugins", _ROOT / "plugins")
    _package("ganzoo_plugins.model_cards", _ROOT / "model_cards")


_builtins_importable()

import ganzoo as _ganzoo  # noqa: E402  (after the built-ins were made importable)


def _entry(name: str) -> object:
    spec = _ganzoo.get_model_spec(name)

    def entry(pretrained: bool = True, weights: str | None = None, device: str = "cpu", **options: object) -> object:
        if not pretrained:
            if weights is not None:
                raise _ganzoo.ConfigError("weights= picks pretrained weights: it needs pretrained=True")
            return _ganzoo.create(name, device=device, **options).generator
        loaded = _ganzoo.load(f"{name}.{weights}" if weights else name, device=device)
        for key, value in options.items():
            if loaded.config.get(key) != value:
                raise _ganzoo.ConfigError(
                    f"{loaded.name} was trained with {key}={loaded.config.get(key)!r}, not {value!r}: "
                    "model options apply to pretrained=False"
                )
        return loaded.generator

    default = spec.default_weights or (spec.weights[0].tag if spec.weights else None)
    tags = ", ".join(repr(w.tag) for w in spec.weights) or "none yet"
    options = ", ".join(f"{key}={value!r}" for key, value in spec.config.items() if key in spec.options) or "none"
    call = "generator(z, labels), labels (N,) int64" if spec.conditional else "generator(z)"
    entry.__name__ = entry.__qualname__ = name.replace("-", "_")
    entry.__doc__ = (
        f"{spec.summary}\n\n"
        f"pretrained (bool): True loads ganzoo.load({name!r}), hash-checked; False builds an untrained\n"
        f"    ganzoo.create({name!r}, **options). Returns the generator, an nn.Module (eval mode when\n"
        f"    pretrained): {call}, with z of shape (N, latent_dim).\n"
        f"weights (str): the weights tag (default {default!r}; there are {tags}).\n"
        "device (str): cpu, cuda, cuda:N, mps or auto.\n"
        f"options: model options (defaults: {options}); `ganzoo info {name}` lists them all.\n"
    )
    return entry


def _builtin_models() -> list[str]:
    registry = _ganzoo.get_registry()
    builtin = {info.name for info in registry.plugins if info.builtin}
    return [name for name, spec in sorted(registry.models.records.items()) if spec.plugin in builtin]


for _name in _builtin_models():
    globals()[_name.replace("-", "_")] = _entry(_name)
