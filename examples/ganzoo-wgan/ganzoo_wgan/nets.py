"""The networks of ``wgan-gp-dcgan``: a DCGAN generator and a critic without batch statistics.

WGAN-GP penalises the gradient of the critic's score per sample; BatchNorm makes each
sample's score depend on the rest of the batch, so the critic here has none (Gulrajani
et al. 2017, section 4). ``ganzoo.nn`` supplies the argument checks ganzoo's own models use.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.nn import positive_int

__all__ = ["WGANCritic", "WGANGenerator"]

_MODEL = "wgan-gp-dcgan"
SIZE = 28


class WGANGenerator(nn.Module):
    """z (as latent_dim x 1 x 1) -> 7x7 -> 14x14 -> channels x 28 x 28 in [-1, 1]."""

    num_classes: int | None = None

    def __init__(self, latent_dim: int = 128, channels: int = 1, width: int = 32):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "latent_dim", _MODEL)
        channels = positive_int(channels, "channels", _MODEL)
        width = positive_int(width, "width", _MODEL)
        self.sample_shape = (channels, SIZE, SIZE)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(self.latent_dim, width * 4, 7, 1, 0, bias=False),
            nn.BatchNorm2d(width * 4),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width * 2, channels, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))


class WGANCritic(nn.Module):
    """channels x 28 x 28 -> 14x14 -> 7x7 -> 4x4 -> one unbounded score per image."""

    num_classes: int | None = None

    def __init__(self, channels: int = 1, width: int = 32):
        super().__init__()
        channels = positive_int(channels, "channels", _MODEL)
        width = positive_int(width, "width", _MODEL)
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, width * 2, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width * 2, width * 4, 3, 2, 1),
            nn.LeakyReLU(0.2),
        )
        # No bias: a Wasserstein loss compares real and fake scores, so a constant offset cancels and
        # would never train.
        self.score = nn.Linear(width * 4 * 4 * 4, 1, bias=False)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.score(self.features(x).flatten(1)).flatten()
