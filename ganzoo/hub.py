"""``ganzoo.load``, ``ganzoo.create`` and ``ganzoo.save``: models in and out of the zoo.

``load`` tells its sources apart by their spelling alone, never by looking at the disk
first, so that a folder named like a model cannot shadow the model, nor the reverse:

* a ``pathlib.Path`` (any ``os.PathLike``), a string with the prefix ``path:``, or a
  string that contains a path separator or starts with ``.`` or ``~`` is a **path**: an
  export folder written by ``ganzoo train`` (``OUT/export``, or ``OUT`` when it holds
  ``export/``), or a single ganzoo ``.safetensors`` file;
* a string starting with ``http://``, ``https://`` or ``file://`` is a **URL** of a
  ganzoo ``.safetensors`` file (a ``file://`` URL may also name an export folder);
* a string starting with ``hf://`` is a **Hugging Face Hub** repository holding an export
  folder, ``hf://OWNER/REPO[@REVISION]`` (:mod:`ganzoo.hfhub`);
* any other string is a **registry name**: ``"dcgan-mnist"`` (its default weights) or
  ``"dcgan-mnist.mnist"`` (the weights tagged ``mnist``).

Registry weights come from the plugin's package, else the cache, else their URL, each
hash-checked before use (:mod:`ganzoo.weights`).

The public functions live with their own job: :mod:`ganzoo.building` (``create``),
:mod:`ganzoo.loading` (``load``, ``parse_source``), :mod:`ganzoo.saving` (``save``);
this module is where they are imported from.
"""

from __future__ import annotations

from .building import create
from .loading import Source, load, parse_source
from .sampling import GAN, PretrainedGenerator
from .saving import save

__all__ = ["GAN", "PretrainedGenerator", "Source", "create", "load", "parse_source", "save"]
