"""The fixed-noise grid to whatever loggers a ``lightning.Trainer`` has.

Loggers differ in what they take: TensorBoard's writer takes an image array (``add_image``); loggers
with a ``log_image`` method (Weights & Biases, for one) take a list of images; the others (CSV, say)
have only a folder, so the grid goes there as ``samples/step_NNNNNN.png``, the name ``ganzoo train``
gives its grids. A trainer without loggers gets nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

__all__ = ["log_grid"]

TAG = "samples"


def log_grid(loggers: Iterable[Any], images: torch.Tensor, *, nrow: int, step: int) -> None:
    """Log ``images`` (``(N, C, H, W)`` in ``[-1, 1]``) as one grid at ``step`` to each of ``loggers``."""
    from ..imaging import make_grid, save_samples

    loggers = list(loggers)
    if not loggers:
        return
    grid = make_grid(images, nrow=nrow) if images.dim() == 4 else None  # (H, W, C) uint8; None for 2-D points
    for logger in loggers:
        experiment = getattr(logger, "experiment", None)
        if grid is not None and hasattr(experiment, "add_image"):
            experiment.add_image(TAG, grid, step, dataformats="HWC")
        elif grid is not None and callable(getattr(logger, "log_image", None)):
            logger.log_image(key=TAG, images=[grid], step=step)
        elif getattr(logger, "log_dir", None):
            save_samples(images, Path(logger.log_dir) / TAG / f"step_{step:06d}.png", nrow=nrow, title=f"step {step}")
