"""The model card and the folder that carries it: the format a trained model is shared in.

:mod:`.folder` is the export folder (``config.json``, ``model.safetensors``, ``README.md``, sample
grids: what ``ganzoo train`` writes, ``ganzoo.load`` reads and ``ganzoo push`` uploads; not to be
confused with ``ganzoo export``, which converts a generator to ONNX or TorchScript: :mod:`ganzoo.deploy`);
:mod:`.card` renders and updates the card's Markdown; :mod:`.frontmatter` its YAML front matter;
:mod:`.hub_metadata` the Hugging Face fields (``model-index``); :mod:`.weights` the weights files
a plugin ships and their hashes. Below the models (which read these folders), above the registry.

``ganzoo.cards`` was a module before 0.2: its old names (``ganzoo.cards.render_card``) still
resolve, with a ``DeprecationWarning`` (:mod:`ganzoo._moved`).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    from .._moved import moved_attribute

    return moved_attribute(__name__, name)
