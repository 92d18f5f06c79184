"""The inference side: models in and out of the zoo (``ganzoo.load``, ``ganzoo.create``, ``ganzoo.save``), sampling.

``load`` tells its sources apart by their spelling alone, never by looking at the disk
first, so that a folder named like a model cannot shadow the model, nor the reverse:

* a ``pathlib.Path`` (any ``os.PathLike``), a string with the prefix ``path:``, or a
  string that contains a path separator or starts with ``.`` or ``~`` is a **path**: an
  export folder written by ``ganzoo train`` (``OUT/export``, or ``OUT`` when it holds
  ``export/``), or a single ganzoo ``.safetensors`` file;
* a string starting with ``http://``, ``https://`` or ``file://`` is a **URL** of a
  ganzoo ``.safetensors`` file (a ``file://`` URL may also name an export folder);
* a string starting with ``hf://`` is a **Hugging Face Hub** repository holding an export
  folder, ``hf://OWNER/REPO[@REVISION]`` (:mod:`ganzoo.models.huggingface`);
* any other string is a **registry name**: ``"dcgan-mnist"`` (its default weights) or
  ``"dcgan-mnist.mnist"`` (the weights tagged ``mnist``).

Registry weights come from the plugin's package, else the cache, else their URL, each
hash-checked before use (:mod:`ganzoo.cards.weights`).

The public functions live with their own job: :mod:`.creating` (``create``), :mod:`.loading`
(``load``, ``parse_source``), :mod:`.saving` (``save``), :mod:`.sampling` (``GAN``,
``PretrainedGenerator``); the configuration a model is built with in :mod:`.model_config` and
:mod:`.model_options`, the device and precision in :mod:`.device`, the Hugging Face Hub in
:mod:`.huggingface` and :mod:`.hub_cache`. Nothing here imports :mod:`ganzoo.training`: a model
loads and samples without the trainer. This package imports its modules (and torch) when a name is
first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .creating import create
    from .loading import Source, load, parse_source
    from .sampling import GAN, PretrainedGenerator
    from .saving import save

__all__ = ["GAN", "PretrainedGenerator", "Source", "create", "load", "parse_source", "save"]

_HOMES = {
    "create": ".creating",
    "Source": ".loading",
    "load": ".loading",
    "parse_source": ".loading",
    "GAN": ".sampling",
    "PretrainedGenerator": ".sampling",
    "save": ".saving",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value
