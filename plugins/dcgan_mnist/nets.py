"""A DCGAN scaled down to 28x28 single-channel images.

The generator grows 1 -> 4 -> 8 -> 14 -> 28 pixels (the third transposed convolution
uses padding 2 to land on 14 instead of 16); the discriminator shrinks 28 -> 14 -> 7 -> 3
and a last strided 4x4 convolution reads the 3x3 map (padded to 5x5) into one logit.
``width`` is the base channel count: 28 gives 112/56/28 channels.

Convolutions that feed a BatchNorm have no bias (the normalisation cancels it); all
weights follow the DCGAN init (:func:`ganzoo.nn.dcgan_init`). The networks only
``reshape``/``flatten``, so they run unchanged on channels_last tensors.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.nn import dcgan_init, positive_int

__all__ = ["IMAGE_SIZE", "DCGANMnistDiscriminator", "DCGANMnistGenerator"]

IMAGE_SIZE = 28
_MODEL = "dcgan-mnist"


class DCGANMnistGenerator(nn.Module):
    """z (as latent_dim x 1 x 1) -> 4x4 -> 8x8 -> 14x14 -> channels x 28 x 28, Tanh."""

    num_classes: int | None = None

    def __init__(self, latent_dim: int = 100, channels: int = 1, width: int = 28):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "latent_dim", _MODEL)
        channels = positive_int(channels, "channels", _MODEL)
        width = positive_int(width, "width", _MODEL)
        self.sample_shape = (channels, IMAGE_SIZE, IMAGE_SIZE)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(self.latent_dim, width * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width * 4),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width * 2, width, 4, 2, 2, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, channels, 4, 2, 1),
            nn.Tanh(),
        )
        dcgan_init(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in ``[-1, 1]`` of shape ``(N, channels, 28, 28)``; ``labels`` is ignored."""
        return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))


class DCGANMnistDiscriminator(nn.Module):
    """channels x 28 x 28 -> 14x14 -> 7x7 -> 3x3 -> one logit per image."""

    num_classes: int | None = None

    def __init__(self, channels: int = 1, width: int = 28):
        super().__init__()
        channels = positive_int(channels, "channels", _MODEL)
        width = positive_int(width, "width", _MODEL)
        self.sample_shape = (channels, IMAGE_SIZE, IMAGE_SIZE)
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width * 2, width * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width * 4, 1, 4, 2, 1),
        )
        dcgan_init(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per image, shape ``(N,)``; ``labels`` is ignored."""
        return self.net(x).flatten()
