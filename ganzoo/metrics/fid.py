"""Fréchet distance between two feature distributions (FID when the features are Inception's).

FID fits a Gaussian to each set of features and measures

    d^2 = |mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)).

The usual implementation calls ``scipy.linalg.sqrtm`` on the non-symmetric product
``S1 S2``, which can return complex values and needs scipy. Here the trace term is taken
from the symmetric positive semi-definite matrix ``S1^(1/2) S2 S1^(1/2)``, which has the
same eigenvalues as ``S1 S2``: two ``torch.linalg.eigh`` calls in float64, no scipy, and
no imaginary parts to discard. Means and covariances are accumulated in float64 because
float32 covariances of 10k x 2048 features lose the digits FID depends on.
"""

from __future__ import annotations

import torch

__all__ = ["feature_stats", "fid", "fid_from_stats", "trace_sqrt_product"]


def feature_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` of ``features`` ``(N, D)``, in float64."""
    if features.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {tuple(features.shape)}")
    if len(features) < 2:
        raise ValueError(f"a covariance needs at least 2 samples, got {len(features)}")
    x = features.detach().to("cpu", torch.float64)
    mu = x.mean(0)
    centred = x - mu
    sigma = centred.T @ centred / (len(x) - 1)
    return mu, sigma


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric PSD matrix; rounding makes tiny eigenvalues negative, so clamp them."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> float:
    """``Tr((S1 S2)^(1/2))`` via the eigenvalues of ``S1^(1/2) S2 S1^(1/2)`` (same spectrum, symmetric)."""
    s1 = sigma1.to(torch.float64)
    s2 = sigma2.to(torch.float64)
    root = _psd_sqrt(s1)
    middle = root @ s2 @ root
    values = torch.linalg.eigvalsh((middle + middle.T) / 2)
    return float(values.clamp_min(0).sqrt().sum())


def fid_from_stats(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = mu1.to("cpu", torch.float64), mu2.to("cpu", torch.float64)
    sigma1, sigma2 = sigma1.to("cpu", torch.float64), sigma2.to("cpu", torch.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (*mu1.shape, *mu1.shape):
        raise ValueError(
            f"mismatched statistics: mu {tuple(mu1.shape)} / {tuple(mu2.shape)}, "
            f"sigma {tuple(sigma1.shape)} / {tuple(sigma2.shape)}"
        )
    mean_term = float(((mu1 - mu2) ** 2).sum())
    trace_term = float(torch.trace(sigma1) + torch.trace(sigma2)) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    # Rounding can leave a tiny negative value for identical sets; a distance is never negative.
    return max(mean_term + trace_term, 0.0)


def fid(features1: torch.Tensor, features2: torch.Tensor) -> float:
    """Fréchet distance between the Gaussian fits of two feature sets ``(N1, D)`` and ``(N2, D)``."""
    return fid_from_stats(*feature_stats(features1), *feature_stats(features2))
