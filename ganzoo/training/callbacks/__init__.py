"""Training callbacks: the loop's one extension point (:mod:`.base`) and the built-in ones.

:mod:`.builtin` holds what every run does besides training (logs, progress, sample grids,
checkpoints, Ctrl-C, the export); :mod:`.progress_animation`, :mod:`.tensorboard` and
:mod:`.plots` the built-ins that need a module of their own. A plugin's callback derives from
:class:`Callback` (``ganzoo.training.Callback``) and is registered with ``register_callbacks``.
"""

from __future__ import annotations

from .base import Callback, CallbackList
from .builtin import (
    Checkpoints,
    Export,
    MetricLog,
    Progress,
    SampleGrids,
    StopOnSignal,
    builtin_callbacks,
    raise_if_diverged,
)

__all__ = [
    "Callback",
    "CallbackList",
    "Checkpoints",
    "Export",
    "MetricLog",
    "Progress",
    "SampleGrids",
    "StopOnSignal",
    "builtin_callbacks",
    "raise_if_diverged",
]
