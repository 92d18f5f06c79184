"""Class coverage and conditional accuracy, judged by a classifier's predictions.

A generator can reach a good FID while drawing one digit far too rarely; counting the
classes a classifier sees among the samples shows that at once. For conditional models,
conditional accuracy asks whether asking for a 7 gives a 7.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["ClassCoverage", "class_coverage", "conditional_accuracy"]


@dataclass(frozen=True)
class ClassCoverage:
    """How generated samples spread over the classes."""

    shares: tuple[float, ...]
    """Share of the samples predicted as each class (sums to 1)."""
    covered: int
    """Classes whose share is at least half the uniform share ``1 / num_classes``."""
    total_variation: float
    """Total-variation distance to the uniform distribution (0: balanced; near 1: one class)."""
    kl_to_uniform: float
    """KL(shares || uniform) in nats; ``log(num_classes)`` when a single class is drawn."""

    @property
    def num_classes(self) -> int:
        return len(self.shares)

    def as_dict(self) -> dict[str, object]:
        return {
            "shares": list(self.shares),
            "covered": self.covered,
            "total_variation": self.total_variation,
            "kl_to_uniform": self.kl_to_uniform,
        }


def class_coverage(predictions: torch.Tensor, num_classes: int) -> ClassCoverage:
    """Spread of predicted labels ``(N,)`` over ``num_classes`` classes, compared with uniform."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    predictions = predictions.detach().to("cpu", torch.int64).flatten()
    if len(predictions) == 0:
        raise ValueError("class coverage needs at least one prediction")
    if int(predictions.min()) < 0 or int(predictions.max()) >= num_classes:
        raise ValueError(f"predictions must lie in [0, {num_classes}), got {predictions.min()}..{predictions.max()}")
    counts = torch.bincount(predictions, minlength=num_classes).double()
    shares = counts / counts.sum()
    uniform = 1.0 / num_classes
    present = shares[shares > 0]
    kl = float((present * (present / uniform).log()).sum())
    return ClassCoverage(
        shares=tuple(float(s) for s in shares),
        covered=int((shares >= uniform / 2).sum()),
        total_variation=float((shares - uniform).abs().sum() / 2),
        kl_to_uniform=max(kl, 0.0),
    )


def conditional_accuracy(predictions: torch.Tensor, requested: torch.Tensor) -> float:
    """Share of samples whose predicted class equals the class that was asked for."""
    predictions = predictions.detach().to("cpu", torch.int64).flatten()
    requested = requested.detach().to("cpu", torch.int64).flatten()
    if predictions.shape != requested.shape:
        raise ValueError(f"{len(predictions)} predictions but {len(requested)} requested labels")
    if len(predictions) == 0:
        raise ValueError("conditional accuracy needs at least one sample")
    return float((predictions == requested).double().mean())
