"""Relativistic losses: D judges whether a real sample is more realistic than a fake one, not each alone.

Jolicoeur-Martineau ("The relativistic discriminator: a key element missing from standard GAN", ICLR
2019) introduced both; Huang et al. ("The GAN is dead; long live the GAN! A Modern GAN Baseline",
NeurIPS 2024, R3GAN) showed that the paired form (RpGAN) with R1 and R2 trains stably without tricks.
Both need the real logits in the generator's loss, so their ``generator_loss`` takes them as a second
argument (see ``ganzoo.plugin_api.generator_loss``); logits are raw, ``softplus(-t)`` is ``-log sigmoid(t)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo.errors import ConfigError

from .functions import _check_d_steps, _flat

__all__ = ["RelativisticAverageLoss", "RelativisticPairingLoss"]


def _paired(first: torch.Tensor, second: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _flat(first), _flat(second)
    if a.shape != b.shape:
        raise ConfigError(f"relativistic: real and fake batches must be the same size to pair them, got "
                          f"{b.numel()} real and {a.numel()} fake logits; use equal batch sizes")
    return a, b


class _Relativistic:
    name = ""

    def __init__(self, d_steps: int = 1):
        self.d_steps = _check_d_steps(d_steps)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(d_steps={self.d_steps})"


class RelativisticPairingLoss(_Relativistic):
    """RpGAN: each real sample against one fake, ``D: softplus(-(D(x_i) - D(G(z_i))))``, G the mirror image."""

    name = "relativistic"

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        fake, real = _paired(fake_logits, real_logits)
        return F.softplus(-(real - fake)).mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
        fake, real = _paired(fake_logits, real_logits)
        return F.softplus(-(fake - real)).mean()


class RelativisticAverageLoss(_Relativistic):
    """RaGAN: each sample against the mean logit of the other batch, in both players' losses."""

    name = "relativistic-average"

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        real, fake = _flat(real_logits), _flat(fake_logits)
        return F.softplus(-(real - fake.mean())).mean() + F.softplus(fake - real.mean()).mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
        real, fake = _flat(real_logits), _flat(fake_logits)
        return F.softplus(-(fake - real.mean())).mean() + F.softplus(real - fake.mean()).mean()
