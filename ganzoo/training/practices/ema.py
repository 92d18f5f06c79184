"""The generator's exponential moving average (EMA), the copy that StyleGAN2 and its successors sample from.

A GAN's generator keeps moving around the equilibrium: the weights of any one step carry that step's
oscillation. Their running average does not, and its samples are markedly better (lower FID) for the
price of one ``lerp`` per parameter per step. The average is defined as StyleGAN2 defines it
(``training_loop.py``, ``ema_kimg`` and ``ema_rampup``): a *half-life in images*, so the smoothing does
not depend on the batch size,

    beta = 0.5 ** (batch / half_life),  half_life = min(half_life, rampup * images_seen),

and the ramp-up lets the average follow the fast changes of the first images instead of dragging the
initial weights along for the whole half-life. Buffers (BatchNorm's running statistics) are copied, not
averaged: an average of statistics of different networks describes none of them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ...errors import ConfigError

__all__ = ["DEFAULT_EMA_HALF_LIFE", "DEFAULT_EMA_RAMPUP", "GeneratorEMA"]

DEFAULT_EMA_HALF_LIFE = 10_000.0
"""Images (StyleGAN2's ``ema_kimg=10`` at small resolutions); the default for image data."""
DEFAULT_EMA_RAMPUP = 0.05
"""StyleGAN2's ``ema_rampup``: the half-life is at most this share of the images seen so far."""


class GeneratorEMA:
    """A frozen copy of the generator, moved towards it after every generator update.

    :attr:`module` is what sample grids, the export and its metrics use. Its ``state_dict()`` is part
    of the checkpoint, so a resumed run's average is exactly an uninterrupted run's.
    """

    def __init__(self, generator: nn.Module, *, half_life: float, rampup: float = DEFAULT_EMA_RAMPUP):
        if not half_life > 0:
            raise ConfigError(f"the EMA half-life must be > 0 images, got {half_life!r}")
        self.half_life = float(half_life)
        self.rampup = float(rampup)
        self.module = copy.deepcopy(generator).eval().requires_grad_(False)
        self.images = 0
        self._pairs(generator)

    def _pairs(self, generator: nn.Module) -> None:
        averaged = dict(self.module.named_parameters())
        copied = dict(self.module.named_buffers())
        self.sources = [p for _, p in generator.named_parameters()]
        self.targets = [averaged[name] for name, _ in generator.named_parameters()]
        self.buffer_sources = [b for _, b in generator.named_buffers()]
        self.buffer_targets = [copied[name] for name, _ in generator.named_buffers()]

    def beta(self, batch: int) -> float:
        """The weight of the old average after a generator update on ``batch`` images."""
        half_life = self.half_life
        if self.rampup > 0:
            half_life = min(half_life, self.images * self.rampup)
        return 0.5 ** (batch / max(half_life, 1e-8))

    @torch.no_grad()
    def update(self, batch: int) -> None:
        """After a generator update on ``batch`` images (over all ranks): average the weights, copy buffers."""
        weight = 1.0 - self.beta(batch)  # from the images before this update, as StyleGAN2 counts
        self.images += batch
        if self.targets:
            torch._foreach_lerp_(self.targets, [s.detach() for s in self.sources], weight)
        for target, source in zip(self.buffer_targets, self.buffer_sources, strict=True):
            target.copy_(source)

    def state_dict(self) -> dict[str, Any]:
        return {
            "module": {k: v.detach().cpu().clone() for k, v in self.module.state_dict().items()},
            "images": self.images,
            "half_life": self.half_life,
            "rampup": self.rampup,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.images = int(state["images"])
