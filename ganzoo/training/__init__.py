"""Training: the adversarial loop, its configuration, checkpoints, progress and pictures.

>>> from ganzoo.training import TrainConfig, train
>>> result = train(TrainConfig("mlp-gan", dataset="ring-8", steps=1500, out="runs/ring"))  # doctest: +SKIP
>>> result.export_dir                                                                      # doctest: +SKIP
PosixPath('runs/ring/export')

This package imports torch; ``import ganzoo`` reaches it only on first use of
``ganzoo.train`` / ``ganzoo.TrainConfig``.
"""

from __future__ import annotations

from .config import ResolvedConfig, TrainConfig, resolve
from .loop import Trainer, TrainResult, train

__all__ = ["ResolvedConfig", "TrainConfig", "TrainResult", "Trainer", "resolve", "train"]
