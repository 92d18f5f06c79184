"""Training: the adversarial loop, its configuration, checkpoints, progress and pictures.

>>> from ganzoo.training import TrainConfig, train
>>> result = train(TrainConfig("mlp-gan", dataset="ring-8", steps=1500, out="runs/ring"))  # doctest: +SKIP
>>> result.export_dir                                                                      # doctest: +SKIP
PosixPath('runs/ring/export')

The loop imports torch and the distributed machinery; this package imports them only when
``Trainer``, ``TrainResult`` or ``train`` is first used, so that ``ganzoo.create`` (which needs
only the configuration helpers in :mod:`.config`) and device resolution stay light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .callbacks import Callback
    from .config import ResolvedConfig, TrainConfig, resolve
    from .loop import Trainer, TrainingStopped, TrainResult, train
    from .run import Run
    from .window import StepMetrics

__all__ = [
    "Callback", "ResolvedConfig", "Run", "StepMetrics", "TrainConfig", "TrainResult", "Trainer", "TrainingStopped",
    "resolve", "train",
]

_HOMES = {
    "Callback": ".callbacks",
    "Run": ".run",
    "StepMetrics": ".window",
    "ResolvedConfig": ".config",
    "TrainConfig": ".config",
    "resolve": ".config",
    "Trainer": ".loop",
    "TrainResult": ".loop",
    "TrainingStopped": ".loop",
    "train": ".loop",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value
