"""The built-in adversarial losses, written on logits.

Discriminators return raw logits; every loss here works on them directly, with
``softplus`` (``log(1 + e^x)``) standing in for the log of a sigmoid:
``log D = log sigmoid(l) = -softplus(-l)`` and ``log(1 - D) = -softplus(l)``. That is
what ``BCEWithLogits`` computes, and it stays finite where ``Sigmoid`` + ``BCELoss``
rounds D to exactly 0 or 1 and takes the log of 0.

Logits may have shape ``(N,)`` or ``(N, 1)`` and any float dtype; they are flattened and
the arithmetic is done in float32, so bf16 autocast cannot round a loss away. Each loss
is the *mean* over the batch of the per-sample formula its ``LossSpec`` states; the
discriminator's real and fake terms are added, not averaged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.nn import interpolate_gradient_norms

__all__ = ["HingeLoss", "LeastSquaresLoss", "MinimaxLoss", "NonSaturatingLoss", "WGANGPLoss"]


def _flat(logits: torch.Tensor) -> torch.Tensor:
    return logits.flatten().float()


def _check_d_steps(d_steps: int) -> int:
    if isinstance(d_steps, bool) or not isinstance(d_steps, int) or d_steps < 1:
        raise ConfigError(f"d_steps must be a positive integer, got {d_steps!r}")
    return d_steps


class _LogitLoss:
    """Shared parts: the name, D steps per G step, and the standard discriminator loss."""

    name = ""

    def __init__(self, d_steps: int = 1):
        self.d_steps = _check_d_steps(d_steps)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """``-[log D(x) + log(1 - D(G(z)))]``: binary cross-entropy, real as 1 and fake as 0."""
        real, fake = _flat(real_logits), _flat(fake_logits)
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(d_steps={self.d_steps})"


class MinimaxLoss(_LogitLoss):
    """Goodfellow et al. (2014)'s original objective: G minimises ``log(1 - D(G(z)))``.

    Kept for comparison: when D confidently rejects the fakes early in training, this
    loss's gradient vanishes ("saturates"), which is why the non-saturating form exists.
    """

    name = "minimax"

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        # log(1 - sigmoid(l)) = -softplus(l): falls as the fake logits rise.
        return -F.softplus(_flat(fake_logits)).mean()


class NonSaturatingLoss(_LogitLoss):
    """G minimises ``-log D(G(z))``: same fixed point as minimax, strong gradients early on."""

    name = "non-saturating"

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-_flat(fake_logits)).mean()


class LeastSquaresLoss(_LogitLoss):
    """LSGAN (Mao et al. 2017), the 0-1 coding: squared error on raw outputs, halved."""

    name = "least-squares"

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        real, fake = _flat(real_logits), _flat(fake_logits)
        return 0.5 * (real - 1.0).square().mean() + 0.5 * fake.square().mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * (_flat(fake_logits) - 1.0).square().mean()


class HingeLoss(_LogitLoss):
    """Hinge loss (Lim & Ye 2017; SAGAN): D wants real > 1 and fake < -1; G raises fake scores."""

    name = "hinge"

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        real, fake = _flat(real_logits), _flat(fake_logits)
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -_flat(fake_logits).mean()


class WGANGPLoss(_LogitLoss):
    """WGAN-GP (Gulrajani et al. 2017): a critic with a gradient penalty, ``d_steps`` critic updates per G update.

    The critic's output is an unbounded score, not a probability. The trainer adds
    :meth:`penalty` to :meth:`discriminator_loss`. The paper's critic has no BatchNorm
    (it makes the per-sample gradient depend on the batch); ganzoo's built-in models do
    have it, so expect WGAN-GP to work best with models without BatchNorm in D.
    """

    name = "wgan-gp"

    def __init__(self, gp_weight: float = 10.0, d_steps: int = 5):
        super().__init__(d_steps)
        if not gp_weight >= 0:
            raise ConfigError(f"wgan-gp: gp_weight must be >= 0, got {gp_weight!r}")
        self.gp_weight = float(gp_weight)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return _flat(fake_logits).mean() - _flat(real_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -_flat(fake_logits).mean()

    def penalty(
        self,
        discriminator: nn.Module,
        real: torch.Tensor,
        fake: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``gp_weight * mean_i (||grad_x D(x_hat_i)||_2 - 1)^2`` on random interpolates.

        The norms come from :func:`ganzoo.nn.interpolate_gradient_norms`: one mixing weight per
        sample, each norm over all of a sample's dimensions (channels and pixels together), as in
        the paper, with the graph kept so that the penalty is differentiable in D's weights.
        """
        norms = interpolate_gradient_norms(discriminator, real, fake, labels)
        return self.gp_weight * (norms - 1.0).square().mean()

    def __repr__(self) -> str:
        return f"WGANGPLoss(gp_weight={self.gp_weight}, d_steps={self.d_steps})"
