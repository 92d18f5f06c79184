"""The helpers a plugin may use beyond ``ganzoo`` itself: one stable import path for them.

A plugin imports ``ganzoo`` (records, ``hookimpl``, the registry queries, ``create``/``load``,
the error classes), ``ganzoo.errors``, ``ganzoo.nn`` (network helpers), ``ganzoo.data``
(``SampleSet``), ``ganzoo.training`` (``Callback``), ``ganzoo.testing`` (the contract tests),
and this module; nothing else. The modules these helpers live in may move between releases
(they did in 0.2), this path does not. ``tests/test_layout.py`` holds the built-in plugins to it.

It imports numpy and Pillow (for the picture helpers), not torch: import it in the module that
loads the data, as the built-in image datasets do, not in the plugin's ``__init__``.
"""

from __future__ import annotations

from .cards.card import MAX_LICENSE_NAME
from .cards.folder import write_generator_weights
from .io.files import CacheWarning, file_sha256, write_atomic, write_cache
from .io.imaging import check_picture_size, open_image
from .io.memory import require_memory
from .io.paths import cache_dir, data_cache_dir, data_dir
from .registry.loss_calls import generator_loss, generator_loss_takes_real_logits

__all__ = [
    "MAX_LICENSE_NAME",
    "CacheWarning",
    "cache_dir",
    "check_picture_size",
    "data_cache_dir",
    "data_dir",
    "file_sha256",
    "generator_loss",
    "generator_loss_takes_real_logits",
    "open_image",
    "require_memory",
    "write_atomic",
    "write_cache",
    "write_generator_weights",
]
