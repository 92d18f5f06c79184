"""Training callbacks: the loop's one extension point (:mod:`.base`) and the built-in ones.

:mod:`.builtin` holds what every run does besides training (logs, progress, sample grids,
checkpoints, Ctrl-C, the export, the speed watch); :mod:`.progress_animation`, :mod:`.tensorboard`,
:mod:`.plots` and :mod:`.snapshot_metrics` (FID while training) are the built-ins that need a module
of their own. A plugin's callback derives from :class:`Callback` (``ganzoo.training.Callback``) and is
registered with ``register_callbacks``.
"""

from __future__ import annotations

from .base import Callback, CallbackList
from .builtin import (
    ApplySchedules,
    Checkpoints,
    CpuSpeedWatch,
    Export,
    MetricLog,
    Progress,
    SampleGrids,
    StopOnSignal,
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


def builtin_callbacks() -> list[Callback]:
    """The callbacks every run has, in the order they run. The ones with heavier imports (the GIF, the
    evaluation, TensorBoard) are imported here, when a run starts, not when the package is."""
    from .progress_animation import ProgressGif
    from .snapshot_metrics import SnapshotMetrics
    from .tensorboard import TensorBoardLog

    return [MetricLog(), SampleGrids(), ProgressGif(), SnapshotMetrics(), TensorBoardLog(), Checkpoints(),
            CpuSpeedWatch(), Progress(), StopOnSignal(), Export(), ApplySchedules()]
