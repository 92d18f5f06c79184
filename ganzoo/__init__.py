"""ganzoo: a plugin-based zoo of GANs.

>>> import ganzoo
>>> ganzoo.list_models("dcgan*")
['dcgan-faces', 'dcgan-mnist']
>>> g = ganzoo.load("dcgan-mnist")            # doctest: +SKIP
>>> images = g.sample(16, seed=0)             # doctest: +SKIP

``import ganzoo`` is cheap: the registry and records need no torch. Functions that work
with tensors (``load``, ``create``, ``save``, ``train``) import their modules, and torch,
on first use.

The package is layered; each layer imports only its own package and the layers below
(ARCHITECTURE.md has the table, ``tests/test_layout.py`` checks it with an import graph):
foundation modules here (``errors``, ``ranges``, ``extras``, ``nn``, ``data``) < ``io`` <
``registry`` < ``cards`` < ``models`` < ``metrics``, ``deploy`` < ``training`` < this public
API (and ``plugin_api``) < ``lightning``, ``gallery``, ``testing`` < ``cli``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _moved
from ._version import __version__
from .errors import (
    ConfigError,
    DataNotFoundError,
    DuplicateNameError,
    GanzooError,
    PluginError,
    TrainingDivergedError,
    UnknownNameError,
    WeightsError,
)
from .registry.catalog import (
    get_callback_spec,
    get_dataset_spec,
    get_extractor_spec,
    get_loss_spec,
    get_model_spec,
    get_registry,
    list_callbacks,
    list_datasets,
    list_extractors,
    list_losses,
    list_models,
    reset_registry,
)
from .registry.hookspecs import hookimpl
from .registry.interfaces import Dataset, Discriminator, Generator, Loss
from .registry.records import CallbackSpec, DatasetSpec, ExtractorSpec, LossSpec, ModelSpec, WeightsSpec

_moved.install()  # the old flat module names (ganzoo.files ...) still import, with a DeprecationWarning

if TYPE_CHECKING:  # pragma: no cover
    from .models import create, load, save
    from .models.sampling import GAN, PretrainedGenerator
    from .training import TrainConfig, train

# Public names that import torch, resolved on first attribute access (PEP 562).
_LAZY = {
    "load": "ganzoo.models",
    "create": "ganzoo.models",
    "save": "ganzoo.models",
    "PretrainedGenerator": "ganzoo.models.sampling",
    "GAN": "ganzoo.models.sampling",
    "train": "ganzoo.training",
    "TrainConfig": "ganzoo.training",
}

__all__ = [
    "GAN",
    "CallbackSpec",
    "ConfigError",
    "DataNotFoundError",
    "Dataset",
    "DatasetSpec",
    "Discriminator",
    "DuplicateNameError",
    "ExtractorSpec",
    "GanzooError",
    "Generator",
    "Loss",
    "LossSpec",
    "ModelSpec",
    "PluginError",
    "PretrainedGenerator",
    "TrainConfig",
    "TrainingDivergedError",
    "UnknownNameError",
    "WeightsError",
    "WeightsSpec",
    "__version__",
    "create",
    "get_callback_spec",
    "get_dataset_spec",
    "get_extractor_spec",
    "get_loss_spec",
    "get_model_spec",
    "get_registry",
    "hookimpl",
    "list_callbacks",
    "list_datasets",
    "list_extractors",
    "list_losses",
    "list_models",
    "load",
    "reset_registry",
    "save",
    "train",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
