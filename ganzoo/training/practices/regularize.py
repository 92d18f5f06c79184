"""R1 and R2 gradient penalties on the discriminator (Mescheder et al., "Which Training Methods for GANs do
actually Converge?", ICML 2018), optionally lazy as StyleGAN2 does them.

R1 penalises the squared norm of D's gradient with respect to its real inputs, R2 with respect to its
fake inputs: ``gamma / 2 * E ||grad_x D(x)||^2``. Near the equilibrium this stops D from pushing the
generator around the data manifold, which is what lets training converge (R3GAN pairs both with a
relativistic loss). Lazy regularisation computes the penalty every ``every`` steps only and scales it
by ``every``, so on average it weighs as much as an every-step penalty at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["GradientPenalty", "gradient_penalty"]


def gradient_penalty(
    discriminator: Callable[..., torch.Tensor],
    inputs: torch.Tensor,
    labels: torch.Tensor | None,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """``E_i ||grad_x D(augment(x_i))||^2`` with respect to the un-augmented ``x``, differentiable in D's weights.

    The gradient is taken through the augmentation (as StyleGAN2-ADA does), so the penalty regularises
    what D computes on the batch it is given, whatever it sees of it.
    """
    x = inputs.detach().requires_grad_(True)
    seen = augment(x) if augment is not None else x
    logits = discriminator(seen, labels).float()
    (gradient,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return gradient.float().square().flatten(1).sum(dim=1).mean()


@dataclass(frozen=True)
class GradientPenalty:
    """The run's R1/R2 setting: what :meth:`__call__` adds to D's loss on the steps it is due."""

    r1_gamma: float = 0.0
    r2_gamma: float = 0.0
    every: int = 1

    @property
    def enabled(self) -> bool:
        return self.r1_gamma > 0 or self.r2_gamma > 0

    def due(self, step: int) -> bool:
        return self.enabled and step % self.every == 0

    def __call__(
        self,
        discriminator: nn.Module,
        real: torch.Tensor,
        fake: torch.Tensor,
        real_labels: torch.Tensor | None,
        fake_labels: torch.Tensor | None,
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        total = real.new_zeros((), dtype=torch.float32)
        if self.r1_gamma > 0:
            total = total + self.r1_gamma / 2 * gradient_penalty(discriminator, real, real_labels, augment)
        if self.r2_gamma > 0:
            total = total + self.r2_gamma / 2 * gradient_penalty(discriminator, fake, fake_labels, augment)
        return total * self.every

    def record(self) -> dict[str, Any]:
        return {"r1_gamma": self.r1_gamma, "r2_gamma": self.r2_gamma, "every": self.every}
