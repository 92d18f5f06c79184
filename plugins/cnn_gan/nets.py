"""The generator and discriminator of the PyTorch Lightning GAN tutorial, as the zoo trains them.

The generator goes from a linear layer to a 64x7x7 map and doubles it twice with transposed
convolutions (7 -> 14 -> 28); a 7x7 convolution with padding 3 mixes the 16 channels into the
image. The discriminator is the classic MNIST classifier of the PyTorch examples with one output:
two 5x5 convolutions with max pooling (28 -> 24 -> 12 -> 8 -> 4), 320 features, two linear layers
and dropout in both halves. Its dropout draws from torch's global generator, which the trainer
seeds, so a seeded run is still reproducible.

The tutorial's generator ends with the 7x7 convolution; here a Tanh follows, so samples lie in
``[-1, 1]`` like every ganzoo model's and like the real images the trainer feeds D. Weights follow
the DCGAN init (:func:`ganzoo.nn.dcgan_init`), as in ganzoo's other convolutional models.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.nn import dcgan_init, positive_int

__all__ = ["IMAGE_SIZE", "CNNDiscriminator", "CNNGenerator"]

IMAGE_SIZE = 28
_MODEL = "cnn-gan"


class CNNGenerator(nn.Module):
    """z -> Linear -> 64x7x7 -> 32x14x14 -> 16x28x28 -> channels x 28 x 28, Tanh."""

    num_classes: int | None = None

    def __init__(self, latent_dim: int = 100, channels: int = 1):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "latent_dim", _MODEL)
        channels = positive_int(channels, "channels", _MODEL)
        self.sample_shape = (channels, IMAGE_SIZE, IMAGE_SIZE)
        self.project = nn.Sequential(nn.Linear(self.latent_dim, 7 * 7 * 64), nn.ReLU(inplace=True))
        self.net = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, channels, 7, padding=3),
            nn.Tanh(),
        )
        dcgan_init(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in ``[-1, 1]`` of shape ``(N, channels, 28, 28)``; ``labels`` is ignored."""
        return self.net(self.project(z.flatten(1)).reshape(z.shape[0], 64, 7, 7))


class CNNDiscriminator(nn.Module):
    """channels x 28 x 28 -> 10x12x12 -> 20x4x4 (320) -> 50 -> one logit per image."""

    num_classes: int | None = None

    def __init__(self, channels: int = 1):
        super().__init__()
        channels = positive_int(channels, "channels", _MODEL)
        self.sample_shape = (channels, IMAGE_SIZE, IMAGE_SIZE)
        self.features = nn.Sequential(
            nn.Conv2d(channels, 10, 5),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Conv2d(10, 20, 5),
            nn.Dropout2d(),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(
            nn.Linear(320, 50),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(50, 1),
        )
        dcgan_init(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per image, shape ``(N,)``; ``labels`` is ignored."""
        return self.head(self.features(x).flatten(1)).flatten()
