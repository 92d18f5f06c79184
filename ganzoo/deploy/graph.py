"""What every deployable format shares: the generator as a graph of tensors, its inputs, and the equality check.

A ganzoo generator is called ``generator(z, labels=None)``; an exported file has fixed
inputs instead: ``z`` ``(N, latent_dim)`` float32 and, for a conditional model only,
``labels`` ``(N,)`` int64. :class:`Unconditional` and :class:`Conditional` give the
generator those signatures, so tracing records exactly the inputs the file will have.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ExportError

__all__ = [
    "EXAMPLE_BATCH",
    "TOLERANCE",
    "VERIFY_BATCHES",
    "VERIFY_SEED",
    "Conditional",
    "Unconditional",
    "compare",
    "eager",
    "graph_module",
    "input_names",
    "inputs",
]

TOLERANCE = 1e-4
"""The largest absolute difference between the file's output and the eager generator's that is accepted."""
EXAMPLE_BATCH = 2
"""The batch the graph is recorded with: not 1, which exporters may specialise, and not a verification batch."""
VERIFY_BATCHES = (1, 8)
"""Batches the written file is run on: other sizes than the recorded one, so a batch fixed in the graph shows."""
VERIFY_SEED = 0
"""The latents of the check are ``latents(n, seed=VERIFY_SEED)``: the same file is always checked the same way."""


class Unconditional(nn.Module):
    """``forward(z)``: the generator of an unconditional model."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z, None).float()


class Conditional(nn.Module):
    """``forward(z, labels)``: the generator of a conditional model, ``labels`` ``(N,)`` int64 class indices."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(z, labels).float()


def graph_module(model: Any) -> nn.Module:
    """A float32 CPU copy of ``model``'s generator in eval mode, with the file's signature (the model is untouched)."""
    generator = copy.deepcopy(model.generator).cpu().float().eval()
    for parameter in generator.parameters():
        parameter.requires_grad_(False)
    wrapper = Conditional(generator) if model.num_classes else Unconditional(generator)
    return wrapper.eval()


def input_names(model: Any) -> list[str]:
    return ["z", "labels"] if model.num_classes else ["z"]


def inputs(model: Any, n: int, seed: int = VERIFY_SEED) -> tuple[torch.Tensor, ...]:
    """``(z,)`` or ``(z, labels)`` for ``n`` samples: seeded latents and the classes in turn."""
    z = model.latents(n, seed=seed)
    if not model.num_classes:
        return (z,)
    return z, torch.arange(n, dtype=torch.int64) % int(model.num_classes)


def eager(module: nn.Module, batch: tuple[torch.Tensor, ...]) -> np.ndarray:
    with torch.no_grad():
        return module(*batch).numpy()


def compare(expected: np.ndarray, actual: np.ndarray, *, what: str, tolerance: float = TOLERANCE) -> float:
    """The largest absolute difference of ``actual`` from ``expected``; over ``tolerance`` it is an ExportError."""
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        raise ExportError(f"{what} gives samples of shape {actual.shape}, the generator {expected.shape}")
    if not np.isfinite(actual).all():
        raise ExportError(f"{what} gives non-finite values where the generator gives finite ones")
    difference = float(np.abs(actual.astype(np.float64) - expected.astype(np.float64)).max(initial=0.0))
    if not difference <= tolerance:
        raise ExportError(
            f"{what} differs from the generator by up to {difference:.3g} (more than {tolerance:g}): "
            "the file does not compute what the model computes"
        )
    return difference
