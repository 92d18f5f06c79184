"""Training callbacks: the loop's one extension point (:mod:`.base`) and the built-in ones.

:mod:`.builtin` holds what every run does besides training (logs, progress, sample grids,
checkpoints, Ctrl-C, the export, the speed watch); :mod:`.progress_animation`, :mod:`.tensorboard`,
:mod:`.plots` and :mod:`.snapshot_metrics` (FID while training) are the built-ins that need a module
of their own. A plugin's callback derives from :class:`Callback` (``ganzoo.training.Callback``) and is
registered with ``register_callbacks``.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import Callback, CallbackList
from .builtin import (
    ApplySchedules,
    Checkpoints,
    CpuSpeedWatch,
    Export,
    MetricLog,
    Progress,
    SampleGrids,
    StepCheckpoints,
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
    "StepCheckpoints",
    "StopOnSignal",
    "builtin_callbacks",
    "raise_if_diverged",
    "run_callbacks",
]


def builtin_callbacks() -> list[Callback]:
    """The callbacks every run has, in the order they run. The ones with heavier imports (the GIF, the
    evaluation, TensorBoard) are imported here, when a run starts, not when the package is."""
    from .progress_animation import ProgressGif
    from .snapshot_metrics import SnapshotMetrics
    from .tensorboard import TensorBoardLog

    return [MetricLog(), SampleGrids(), ProgressGif(), SnapshotMetrics(), TensorBoardLog(), Checkpoints(),
            CpuSpeedWatch(), Progress(), StopOnSignal(), Export(), ApplySchedules()]


def run_callbacks(added: Sequence[Callback] = ()) -> list[Callback]:
    """Every callback of a run, in the order they run: the built-ins, then ``added`` (``--callback NAME`` and
    ``Trainer(callbacks=...)``), then the periodic checkpoint. Last, so that the state it saves of a callback
    includes the step just done: a resume goes on from the step after, and would otherwise lose that step's
    work (a count, a sum) from every callback's state."""
    return [*builtin_callbacks(), *added, StepCheckpoints()]
