"""The fully connected generator and discriminator of the classic MLP GAN.

The layer sizes follow the classic tutorials (PyTorch-GAN's ``gan.py``, itself a port of
Keras-GAN). Two deliberate differences, both recorded in the model card:

* BatchNorm1d uses ``momentum=0.2``. The classic PyTorch code writes
  ``nn.BatchNorm1d(n, 0.8)``, and the second positional argument of BatchNorm1d is
  ``eps``: a slip when porting Keras' ``BatchNormalization(momentum=0.8)``. Keras'
  momentum is the weight of the *old* running statistic, so Keras 0.8 is PyTorch 0.2.
  ``bn_eps`` defaults to PyTorch's 1e-5; ``bn_eps=0.8`` reproduces the classic code
  exactly. The slip is not harmless: with eps 0.8 (far above the variance of most
  features) the layers normalise only weakly, and on the ``ring-8`` toy data that
  version covered more modes early in training in our runs.
* The linear layers that feed a BatchNorm have no bias: the normalisation subtracts the
  batch mean, so such a bias never changes the output and never receives a gradient.

Weights keep PyTorch's default initialisation, as in the classic code (the DCGAN
N(0, 0.02) recipe is for the convolutional models).

Both networks work for any sample shape: they flatten to ``prod(sample_shape)`` features,
so the same model trains on 1x28x28 images and on 2-D points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ganzoo.nn import positive_float, positive_int, sample_shape_of

__all__ = ["BN_MOMENTUM", "MLPDiscriminator", "MLPGenerator"]

BN_MOMENTUM = 0.2
"""PyTorch momentum equal to Keras' ``momentum=0.8`` (see the module docstring)."""


class MLPGenerator(nn.Module):
    """z -> 128 -> 256 -> 512 -> prod(sample_shape), Tanh, reshaped to ``sample_shape``."""

    num_classes: int | None = None

    def __init__(self, latent_dim: int = 100, sample_shape: Sequence[int] = (1, 28, 28), bn_eps: float = 1e-5):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "latent_dim", "mlp-gan")
        self.sample_shape = sample_shape_of(sample_shape, "mlp-gan")
        bn_eps = positive_float(bn_eps, "bn_eps", "mlp-gan")
        self.net = nn.Sequential(
            nn.Linear(self.latent_dim, 128),
            nn.ReLU(inplace=True),
            nn.Linear(128, 256, bias=False),
            nn.BatchNorm1d(256, eps=bn_eps, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Linear(256, 512, bias=False),
            nn.BatchNorm1d(512, eps=bn_eps, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Linear(512, math.prod(self.sample_shape)),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples in ``[-1, 1]`` of shape ``(N, *sample_shape)``; ``labels`` is ignored."""
        return self.net(z.flatten(1)).reshape(-1, *self.sample_shape)


class MLPDiscriminator(nn.Module):
    """flatten -> 512 -> 256 -> 1 logit, LeakyReLU(0.2) between layers."""

    num_classes: int | None = None

    def __init__(self, sample_shape: Sequence[int] = (1, 28, 28)):
        super().__init__()
        self.sample_shape = sample_shape_of(sample_shape, "mlp-gan")
        self.net = nn.Sequential(
            nn.Linear(math.prod(self.sample_shape), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per sample, shape ``(N,)``; ``labels`` is ignored."""
        return self.net(x.flatten(1)).flatten()
