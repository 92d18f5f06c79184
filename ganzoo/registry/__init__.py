"""The plugin system: what a plugin declares, how ganzoo finds it, and how plugin code is called.

:mod:`.hookspecs` (the hooks a plugin implements), :mod:`.discovery` (loading entry points, one
plugin at a time), :mod:`.records` (``ModelSpec``, ``LossSpec``, ... : frozen records that import
nothing heavy), :mod:`.shapes` (sample-shape patterns), :mod:`.builders` (calling the lazily named
plugin code, and putting a crash down to its plugin), :mod:`.catalog` (the process-wide registry:
``get_registry``, ``list_models`` ...), :mod:`.interfaces` (the Generator, Discriminator, Loss and
Dataset protocols) and :mod:`.loss_calls` (calling a loss plugin's generator loss). Nothing here
imports torch or anything above it; the public names are re-exported by ``ganzoo``.

``ganzoo.registry`` was a module before 0.2: its old names (``ganzoo.registry.get_registry``) still
resolve, with a ``DeprecationWarning`` (:mod:`ganzoo._moved`).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    from .._moved import moved_attribute

    return moved_attribute(__name__, name)
