"""WGAN-LP: the Wasserstein loss with a one-sided Lipschitz penalty (Petzka et al. 2018).

WGAN-GP pushes the critic's gradient norm towards exactly 1 everywhere on the
interpolates; the Lipschitz constraint only asks for at most 1, so WGAN-LP penalises
norms above 1 alone. The trainer calls :meth:`penalty` and adds it to D's loss, and runs
``d_steps`` critic updates per generator update (both are part of ``ganzoo.Loss``).
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import ConfigError
from ganzoo.nn import interpolate_gradient_norms

__all__ = ["WGANLPLoss"]


class WGANLPLoss:
    name = "wgan-lp"

    def __init__(self, lp_weight: float = 10.0, d_steps: int = 5):
        if not lp_weight >= 0:
            raise ConfigError(f"wgan-lp: lp_weight must be >= 0, got {lp_weight!r}")
        if isinstance(d_steps, bool) or not isinstance(d_steps, int) or d_steps < 1:
            raise ConfigError(f"wgan-lp: d_steps must be a positive integer, got {d_steps!r}")
        self.lp_weight = float(lp_weight)
        self.d_steps = d_steps

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return fake_logits.flatten().float().mean() - real_logits.flatten().float().mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.flatten().float().mean()

    def penalty(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``lp_weight * mean_i max(0, ||grad_x D(x_hat_i)||_2 - 1)^2`` on per-sample random interpolates."""
        excess = (interpolate_gradient_norms(discriminator, real, fake, labels) - 1.0).clamp(min=0.0)
        return self.lp_weight * excess.square().mean()

    def __repr__(self) -> str:
        return f"WGANLPLoss(lp_weight={self.lp_weight}, d_steps={self.d_steps})"
