"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2 with a cubic polynomial kernel.

Unlike FID, the unbiased MMD^2 estimator has expectation equal to the true squared
distance whatever the sample size, so KID values from 1k or 10k samples estimate the
same number, and its spread over random subsets gives an honest error bar. The kernel is
``k(x, y) = (x.y / d + 1)^3`` with ``d`` the feature dimension, as in the paper and in
torch-fidelity / clean-fid.
"""

from __future__ import annotations

import math

import torch

__all__ = ["effective_subset_size", "kid", "mmd2_unbiased", "polynomial_kernel", "spread_is_defined"]


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = 3, coef0: float = 1.0) -> torch.Tensor:
    """``(x.y / d + coef0) ** degree`` for every pair of rows: ``(N, M)``."""
    gram = x @ y.T
    return gram.div_(x.shape[1]).add_(coef0).pow_(degree)  # in place: three fewer (N, M) temporaries


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD^2 between samples ``x`` ``(m, D)`` and ``y`` ``(n, D)`` (diagonals left out)."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"unbiased MMD needs at least 2 samples per set, got {m} and {n}")
    k_xx = polynomial_kernel(x, x, degree, coef0)
    k_yy = polynomial_kernel(y, y, degree, coef0)
    k_xy = polynomial_kernel(x, y, degree, coef0)
    xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * k_xy.mean())


def kid(
    features1: torch.Tensor,
    features2: torch.Tensor,
    *,
    subset_size: int = 1000,
    subsets: int = 100,
    seed: int = 0,
    degree: int = 3,
    coef0: float = 1.0,
) -> tuple[float, float]:
    """KID mean and standard deviation over ``subsets`` random subsets of ``subset_size`` per set.

    The subset size shrinks to the smaller set when a set is smaller (a tiny test run);
    the evaluation protocol records the size actually used. Subsets are drawn without
    replacement within a subset, independently across subsets, from a generator seeded
    with ``seed``, so the same features always give the same KID.
    """
    x = features1.detach().to("cpu", torch.float64)
    y = features2.detach().to("cpu", torch.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"features must be (N, D) with equal D, got {tuple(x.shape)} and {tuple(y.shape)}")
    size = effective_subset_size(len(x), len(y), subset_size)
    generator = torch.Generator().manual_seed(seed)
    values = torch.empty(subsets, dtype=torch.float64)
    for i in range(subsets):
        pick_x = torch.randperm(len(x), generator=generator)[:size]
        pick_y = torch.randperm(len(y), generator=generator)[:size]
        values[i] = mmd2_unbiased(x[pick_x], y[pick_y], degree, coef0)
    std = float(values.std()) if spread_is_defined(len(x), len(y), subset_size, subsets) else math.nan
    return float(values.mean()), std


def effective_subset_size(n1: int, n2: int, subset_size: int = 1000) -> int:
    """The subset size :func:`kid` actually uses for sets of ``n1`` and ``n2`` samples."""
    return min(subset_size, n1, n2)


def spread_is_defined(n1: int, n2: int, subset_size: int = 1000, subsets: int = 100) -> bool:
    """Whether KID's standard deviation over subsets means anything: not with one subset, and not when
    every subset is the whole of both sets (``n`` at most the subset size: ``eval -n 1000``), where all
    subsets are the same pair and the spread is rounding (3e-16). :func:`kid` gives NaN then, and the
    evaluation leaves ``kid_std`` out and says why."""
    size = effective_subset_size(n1, n2, subset_size)
    return subsets > 1 and (size < n1 or size < n2)
