"""The DCGAN paper's RGB architecture at 64x64, and its 128x128 extension.

Radford et al. (2016): the generator projects z to a 4x4 map with ``ngf * 8`` channels
and doubles the resolution while halving the channels (BatchNorm + ReLU), ending in a
Tanh; the discriminator mirrors it with strided convolutions, LeakyReLU(0.2), BatchNorm
from its second layer, and a last 4x4 valid convolution to one logit. 128x128 adds one
block on each side (the generator starts at ``ngf * 16``), the layout commonly taught
for 128x128 face crops. Convolutions that feed a BatchNorm have no bias; all weights
follow the DCGAN init.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.nn import dcgan_init, positive_int

__all__ = ["IMAGE_SIZES", "DCGANDiscriminator", "DCGANGenerator"]

IMAGE_SIZES = (64, 128)
_MODEL = "dcgan-faces"


def _blocks(image_size: int) -> int:
    """Number of resolution doublings between 4x4 and ``image_size / 2``."""
    if isinstance(image_size, bool) or image_size not in IMAGE_SIZES:
        allowed = ", ".join(str(s) for s in IMAGE_SIZES)
        raise ConfigError(f"{_MODEL}: image_size must be one of {allowed}, got {image_size!r}")
    return int(image_size).bit_length() - 1 - 3  # log2(size) - log2(8): 64 -> 3, 128 -> 4


class DCGANGenerator(nn.Module):
    """z -> (ngf * 2^blocks) x 4 x 4 -> ... -> ngf x size/2 -> channels x size x size, Tanh."""

    num_classes: int | None = None

    def __init__(self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, ngf: int = 64):
        super().__init__()
        blocks = _blocks(image_size)
        self.latent_dim = positive_int(latent_dim, "latent_dim", _MODEL)
        channels = positive_int(channels, "channels", _MODEL)
        ngf = positive_int(ngf, "ngf", _MODEL)
        self.image_size = int(image_size)
        self.sample_shape = (channels, self.image_size, self.image_size)
        width = ngf * 2**blocks
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(self.latent_dim, width, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        for _ in range(blocks):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in ``[-1, 1]`` of shape ``(N, channels, image_size, image_size)``; ``labels`` is ignored."""
        return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """channels x size x size -> ndf x size/2 -> ... -> (ndf * 2^blocks) x 4 x 4 -> one logit."""

    num_classes: int | None = None

    def __init__(self, image_size: int = 64, channels: int = 3, ndf: int = 64):
        super().__init__()
        blocks = _blocks(image_size)
        channels = positive_int(channels, "channels", _MODEL)
        ndf = positive_int(ndf, "ndf", _MODEL)
        self.image_size = int(image_size)
        self.sample_shape = (channels, self.image_size, self.image_size)
        width = ndf
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(blocks):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            width *= 2
        layers.append(nn.Conv2d(width, 1, 4, 1, 0))
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per image, shape ``(N,)``; ``labels`` is ignored."""
        return self.net(x).flatten()
