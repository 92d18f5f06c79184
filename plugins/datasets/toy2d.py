"""Embedded 2-D toy data: Gaussian mixtures whose modes make mode collapse visible.

``ring-8`` (eight Gaussians on a circle) and ``grid-25`` (a 5x5 grid) are the standard
mode-collapse checks of the GAN literature (Metz et al. 2017, Srivastava et al. 2017):
a generator that covers every mode has learned the distribution, one that covers a few
has collapsed. The points are generated from fixed seeds (a different one per split),
so every run sees the same data and needs no download. Each point's label is its mode.
"""

from __future__ import annotations

import math

import torch

from ganzoo.data import SampleSet
from ganzoo.errors import ConfigError

__all__ = [
    "MODE_STD",
    "count_covered_modes",
    "high_quality_share",
    "load_grid_25",
    "load_ring_8",
    "mode_centres",
    "mode_metrics",
    "nearest_mode",
]

MODE_STD = 0.02
RADIUS = 0.8
SIZES = {"train": 25_000, "test": 5_000}
_SEEDS = {"train": 0, "test": 1}


def mode_centres(name: str) -> torch.Tensor:
    """The ``(K, 2)`` float32 mode centres of the toy dataset ``name`` (``ring-8`` or ``grid-25``)."""
    if name == "ring-8":
        angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return (RADIUS * torch.stack([angles.cos(), angles.sin()], dim=1)).float()
    if name == "grid-25":
        axis = torch.linspace(-RADIUS, RADIUS, 5, dtype=torch.float64)
        return torch.cartesian_prod(axis, axis).float()
    raise ConfigError(f"no toy dataset {name!r}: choose ring-8 or grid-25")


def _mixture(name: str, split: str) -> SampleSet:
    if split not in SIZES:
        raise ConfigError(f"dataset {name!r} has no split {split!r}; choose one of {', '.join(SIZES)}")
    centres = mode_centres(name)
    count, modes = SIZES[split], len(centres)
    generator = torch.Generator().manual_seed(_SEEDS[split])
    labels = (torch.arange(count) % modes)[torch.randperm(count, generator=generator)]
    noise = torch.randn(count, 2, generator=generator) * MODE_STD
    points = centres[labels] + noise
    return SampleSet(points, labels, name=name, classes=[f"mode-{k}" for k in range(modes)])


def load_ring_8(split: str = "train") -> SampleSet:
    """Eight Gaussians (std 0.02) on a circle of radius 0.8; equal counts per mode."""
    return _mixture("ring-8", split)


def load_grid_25(split: str = "train") -> SampleSet:
    """25 Gaussians (std 0.02) on a 5x5 grid over ``[-0.8, 0.8]^2``; equal counts per mode."""
    return _mixture("grid-25", split)


def nearest_mode(points: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each point, the index of its nearest centre and the distance to it."""
    distances = torch.cdist(points.reshape(-1, 2).float(), centres.float().to(points.device))
    distance, index = distances.min(dim=1)
    return index, distance


def high_quality_share(
    points: torch.Tensor, centres: torch.Tensor, std: float = MODE_STD, radius_stds: float = 3.0
) -> float:
    """The share of points within ``radius_stds`` standard deviations of some mode."""
    if len(points) == 0:
        return 0.0
    _, distance = nearest_mode(points, centres)
    return float((distance <= radius_stds * std).float().mean())


def count_covered_modes(
    points: torch.Tensor,
    centres: torch.Tensor,
    std: float = MODE_STD,
    radius_stds: float = 3.0,
    min_share: float | None = None,
) -> int:
    """How many modes hold enough of the ``points`` near their centre.

    A point counts for its nearest mode when it lies within ``radius_stds * std`` of it
    (a "high-quality" sample, as in VEEGAN's evaluation); a mode is covered when such
    points make up at least ``min_share`` of all points. The default ``min_share`` is a
    quarter of a fair share (``0.25 / K``), so a few stray samples do not make a mode
    count, while an uneven but real coverage does.
    """
    if min_share is None:
        min_share = 0.25 / len(centres)
    if len(points) == 0:
        return 0
    index, distance = nearest_mode(points, centres)
    near = index[distance <= radius_stds * std]
    counts = torch.bincount(near.cpu(), minlength=len(centres))
    return int((counts >= min_share * len(points)).sum())


def mode_metrics(samples: torch.Tensor, dataset: str) -> dict[str, object]:
    """What the trainer reports for a model trained on ``dataset``: modes covered, and the share of samples
    near a mode (the ``sample_metrics`` of ring-8 and grid-25)."""
    centres = mode_centres(dataset)
    return {
        "modes_covered": f"{count_covered_modes(samples, centres)}/{len(centres)}",
        "high_quality_share": round(float(high_quality_share(samples, centres)), 4),
    }
