"""Where the modules of ganzoo 0.1's flat layout went, and the one mechanism that keeps the old names working.

ganzoo 0.2 sorted its 37 top-level modules into subpackages (see ARCHITECTURE.md). Code that imported
an old path (``from ganzoo.files import write_atomic``, ``import ganzoo.specs``) keeps working for one
release, with a ``DeprecationWarning`` naming the new path: :class:`MovedModuleFinder`, installed by
``ganzoo/__init__.py``, answers an old module name with the new module itself (the same object, so a
function is the same function), and the two old modules whose names are now packages
(``ganzoo.registry``, ``ganzoo.cards``) forward their old attributes through :func:`moved_attribute`.
Both read :data:`MOVED`. Plugins should import only the public API (docs/plugins/reference.md).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import Any

__all__ = ["MOVED", "MovedModuleFinder", "moved_attribute"]

REMOVED_IN = "0.3"

MOVED: dict[str, str] = {
    "ganzoo.animation": "ganzoo.io.animation",
    "ganzoo.attribution": "ganzoo.registry.builders",
    "ganzoo.augment": "ganzoo.training.practices.augment",
    "ganzoo.augment.ops": "ganzoo.training.practices.augment",
    "ganzoo.augment.policy": "ganzoo.training.practices.augment",
    "ganzoo.builders": "ganzoo.registry.builders",
    "ganzoo.building": "ganzoo.models.creating",
    "ganzoo.callbackspec": "ganzoo.registry.records",
    "ganzoo.cardsections": "ganzoo.cards.card",
    "ganzoo.export": "ganzoo.cards.folder",
    "ganzoo.files": "ganzoo.io.files",
    "ganzoo.folderguard": "ganzoo.io.folderguard",
    "ganzoo.frontmatter": "ganzoo.cards.frontmatter",
    "ganzoo.hfhub": "ganzoo.models.huggingface",
    "ganzoo.hookspecs": "ganzoo.registry.hookspecs",
    "ganzoo.hub": "ganzoo.models",
    "ganzoo.hubcard": "ganzoo.cards.hub_metadata",
    "ganzoo.hubstore": "ganzoo.models.hub_cache",
    "ganzoo.imaging": "ganzoo.io.imaging",
    "ganzoo.lightning.grids": "ganzoo.lightning.module",
    "ganzoo.loading": "ganzoo.models.loading",
    "ganzoo.lossapi": "ganzoo.registry.loss_calls",
    "ganzoo.memory": "ganzoo.io.memory",
    "ganzoo.modelconfig": "ganzoo.models.model_config",
    "ganzoo.outputs": "ganzoo.io.files",
    "ganzoo.paths": "ganzoo.io.paths",
    "ganzoo.plugins": "ganzoo.registry.discovery",
    "ganzoo.practicerows": "ganzoo.cards.card",
    "ganzoo.protocols": "ganzoo.registry.interfaces",
    "ganzoo.samplefiles": "ganzoo.io.samplefiles",
    "ganzoo.sampling": "ganzoo.models.sampling",
    "ganzoo.saving": "ganzoo.models.saving",
    "ganzoo.shapes": "ganzoo.registry.shapes",
    "ganzoo.specs": "ganzoo.registry.records",
    "ganzoo.tradeoff": "ganzoo.cards.card",
    "ganzoo.training.compiling": "ganzoo.training.parallel.compiling",
    "ganzoo.training.device": "ganzoo.models.device",
    "ganzoo.training.distributed": "ganzoo.training.parallel.distributed",
    "ganzoo.training.ema": "ganzoo.training.practices.ema",
    "ganzoo.training.launch": "ganzoo.training.parallel.launch",
    "ganzoo.training.options": "ganzoo.models.model_options",
    "ganzoo.training.placement": "ganzoo.training.parallel.placement",
    "ganzoo.training.plots": "ganzoo.training.callbacks.plots",
    "ganzoo.training.progress": "ganzoo.training.progress_bar",
    "ganzoo.training.progress_gif": "ganzoo.training.callbacks.progress_animation",
    "ganzoo.training.regularize": "ganzoo.training.practices.regularize",
    "ganzoo.training.runlock": "ganzoo.training.parallel.runlock",
    "ganzoo.training.tensorboard_log": "ganzoo.training.callbacks.tensorboard",
    "ganzoo.untrusted": "ganzoo.io.untrusted",
    "ganzoo.weights": "ganzoo.cards.weights",
}
"""Old module -> the module that holds its names now (several old ones may share one)."""

PACKAGE_NOW: dict[str, str] = {
    "ganzoo.registry": "ganzoo.registry.catalog",
    "ganzoo.cards": "ganzoo.cards.card",
}
"""Old modules whose name is now a package: their old attributes are forwarded by :func:`moved_attribute`."""


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the code doing the import, past the import machinery."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen importlib") or frame.f_code.co_filename == __file__
    ):
        frame, level = frame.f_back, level + 1
    return level


def _warn(old: str, new: str) -> None:
    warnings.warn(
        f"{old} moved to {new}; the old name is removed in ganzoo {REMOVED_IN} "
        "(plugins: import only the public API, docs/plugins/reference.md)",
        DeprecationWarning,
        stacklevel=_caller_level(),
    )


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module name as its new module (the same module object), with a ``DeprecationWarning``."""

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        _warn(spec.name, MOVED[spec.name])
        module = importlib.import_module(MOVED[spec.name])
        self._specs[spec.name] = module.__spec__
        for old, new in MOVED.items():  # an old package's modules (ganzoo.augment.policy): the new module has no path
            if old.startswith(spec.name + "."):
                sys.modules.setdefault(old, importlib.import_module(new))
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is the new one, already imported; give it back its own spec."""
        module.__spec__ = self._specs.pop(module.__spec__.name, module.__spec__)


def moved_attribute(package: str, name: str) -> Any:
    """``getattr`` for a package whose name was an old module's: the old module's attribute, with a warning."""
    if name.startswith("__"):
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    home = importlib.import_module(PACKAGE_NOW[package])
    if not hasattr(home, name):
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    _warn(f"{package}.{name}", f"{home.__name__}.{name}")
    return getattr(home, name)


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (``ganzoo/__init__.py`` calls this)."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
