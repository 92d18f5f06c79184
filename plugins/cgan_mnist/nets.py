"""A label-conditioned MLP GAN (Mirza & Osindero 2014), widened from the classic MLP GAN.

Each network owns a learned label embedding and concatenates it to its input: to z in
the generator, to the flattened image in the discriminator. The layer sizes are those of
the classic PyTorch-GAN ``cgan.py``; as in ganzoo's MLP GAN, BatchNorm1d uses momentum
0.2 (Keras' 0.8, which the classic port passed as ``eps``; ``bn_eps=0.8`` reproduces the
classic code), linear layers that feed a BatchNorm have no bias, and weights keep
PyTorch's default initialisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ganzoo.nn import check_labels, positive_float, positive_int, sample_shape_of

__all__ = ["BN_MOMENTUM", "ConditionalDiscriminator", "ConditionalGenerator"]

BN_MOMENTUM = 0.2
_MODEL = "cgan-mnist"


class ConditionalGenerator(nn.Module):
    """[z, embed(label)] -> 256 -> 512 -> 1024 -> prod(sample_shape), Tanh, reshaped."""

    def __init__(
        self,
        latent_dim: int = 100,
        sample_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 10,
        embedding_dim: int = 10,
        bn_eps: float = 1e-5,
    ):
        super().__init__()
        bn_eps = positive_float(bn_eps, "bn_eps", _MODEL)
        self.latent_dim = positive_int(latent_dim, "latent_dim", _MODEL)
        self.sample_shape = sample_shape_of(sample_shape, _MODEL)
        self.num_classes = positive_int(num_classes, "num_classes", _MODEL)
        embedding_dim = positive_int(embedding_dim, "embedding_dim", _MODEL)
        self.embedding = nn.Embedding(self.num_classes, embedding_dim)
        self.net = nn.Sequential(
            nn.Linear(self.latent_dim + embedding_dim, 256),
            nn.ReLU(inplace=True),
            nn.Linear(256, 512, bias=False),
            nn.BatchNorm1d(512, eps=bn_eps, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Linear(512, 1024, bias=False),
            nn.BatchNorm1d(1024, eps=bn_eps, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Linear(1024, math.prod(self.sample_shape)),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples of the requested classes, shape ``(N, *sample_shape)``; ``labels`` is required."""
        labels = check_labels(labels, z.shape[0], self.num_classes, _MODEL)
        embedded = self.embedding(labels).to(z.dtype)
        hidden = torch.cat([z.flatten(1), embedded], dim=1)
        return self.net(hidden).reshape(-1, *self.sample_shape)


class ConditionalDiscriminator(nn.Module):
    """[flatten(x), embed(label)] -> 1024 -> 512 -> 256 -> one logit, LeakyReLU(0.2)."""

    def __init__(self, sample_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10, embedding_dim: int = 10):
        super().__init__()
        self.sample_shape = sample_shape_of(sample_shape, _MODEL)
        self.num_classes = positive_int(num_classes, "num_classes", _MODEL)
        embedding_dim = positive_int(embedding_dim, "embedding_dim", _MODEL)
        self.embedding = nn.Embedding(self.num_classes, embedding_dim)
        self.net = nn.Sequential(
            nn.Linear(math.prod(self.sample_shape) + embedding_dim, 1024),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(1024, 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per sample for its claimed class, shape ``(N,)``; ``labels`` is required."""
        labels = check_labels(labels, x.shape[0], self.num_classes, _MODEL)
        flat = x.flatten(1)
        hidden = torch.cat([flat, self.embedding(labels).to(flat.dtype)], dim=1)
        return self.net(hidden).flatten()
