"""``shapes-28``: 28x28 grey images of discs, squares and crosses, drawn in code.

A small image dataset that needs no download, for trying a 28x28 model end to end in
seconds. Each split is drawn from its own fixed seed, so every run sees the same images;
the label is the shape (0 disc, 1 square, 2 cross).
"""

from __future__ import annotations

import torch

from ganzoo import ConfigError
from ganzoo.data import SampleSet

__all__ = ["CLASSES", "SIZES", "load_shapes"]

CLASSES = ("disc", "square", "cross")
SIZES = {"train": 6000, "test": 1000}
_SEEDS = {"train": 0, "test": 1}
_SIDE = 28


def load_shapes(split: str = "train") -> SampleSet:
    """Split ``split`` as uint8 ``(N, 1, 28, 28)`` images (0 background, 255 shape) with shape labels."""
    if split not in SIZES:
        raise ConfigError(f"dataset 'shapes-28' has no split {split!r}; choose one of {', '.join(SIZES)}")
    count = SIZES[split]
    rng = torch.Generator().manual_seed(_SEEDS[split])
    labels = torch.arange(count) % len(CLASSES)
    labels = labels[torch.randperm(count, generator=rng)]
    radius = 4.0 + 5.0 * torch.rand(count, 1, 1, generator=rng)  # half-size 4..9 pixels
    centre = 10.0 + 8.0 * torch.rand(count, 2, 1, 1, generator=rng)  # centres in [10, 18]
    axis = torch.arange(_SIDE, dtype=torch.float32) + 0.5
    dy = (axis.view(1, _SIDE, 1) - centre[:, 0]).abs()
    dx = (axis.view(1, 1, _SIDE) - centre[:, 1]).abs()
    disc = dx.square() + dy.square() <= radius.square()
    square = torch.maximum(dx, dy) <= radius * 0.8
    bar = radius * 0.3
    cross = ((dx <= bar) & (dy <= radius)) | ((dy <= bar) & (dx <= radius))
    kind = labels.view(count, 1, 1)
    mask = torch.where(kind == 0, disc, torch.where(kind == 1, square, cross))
    images = mask.to(torch.uint8).mul_(255).unsqueeze(1)
    return SampleSet(images, labels, name="shapes-28", classes=list(CLASSES))
