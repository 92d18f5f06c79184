"""A tests-only plugin, written as a third party writes one: SNGAN at 28 x 28 (a ResNet generator, a ResNet
discriminator with spectral normalisation), the model the contract failed on in issue 30.

It is what ``ganzoo.testing`` must pass: a convolutional ResNet, which the trainer converts to channels_last on
the CPU, and whose outputs then differ from a contiguous copy's by a few float32 roundings (1e-6 to 4e-6), so
a check that compares a channels_last network with a contiguous one fails a correct model. Its records:

* ``sngan-fixture``: the non-saturating loss, the full contract passes;
* ``sngan-relativistic``: a relativistic loss by default, which leaves the bias of D's last linear layer
  unchanged (it cancels in ``D(real) - D(fake)``), declared in ``ModelSpec.unchanged_under``; its D has a
  BatchNorm, so the trainer scores reals and fakes in two passes and the cancelled gradient is exactly zero on
  every machine (scored in one batch, it is a sum of rounding errors, which Adam turns into steps of ``lr``);
* ``sngan-undeclared``: the same without the declaration, which the ``train`` check must fail.

Used through the ``use_plugins`` fixture (``use_plugins("sngan_plugin")``), never installed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

import ganzoo

WIDTHS = "128,64"
"""Channels of the generator's two up-sampling blocks and of the discriminator's two down-sampling blocks."""


def parse_widths(widths: str) -> tuple[int, int]:
    values = tuple(int(part) for part in str(widths).split(","))
    if len(values) != 2 or min(values) < 1:
        raise ganzoo.ConfigError(f"widths must be two positive channel counts such as '32,16', got {widths!r}")
    return values[0], values[1]


def sngan_init(module: nn.Module) -> None:
    """Miyato et al.'s initialisation (Xavier, gain sqrt(2), zero biases): larger activations than PyTorch's default,
    so that a change of memory layout moves the generator's samples by 1e-6 and more, as at paper width."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight, math.sqrt(2))
            nn.init.zeros_(layer.bias)


class UpBlock(nn.Module):
    """BN-ReLU-upsample-conv-BN-ReLU-conv with a 1x1 shortcut, as in Miyato et al.'s ResNet generator."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.interpolate(F.relu(self.bn1(x)), scale_factor=2))
        h = self.conv2(F.relu(self.bn2(h)))
        return h + self.skip(F.interpolate(x, scale_factor=2))


class DownBlock(nn.Module):
    """ReLU-conv-ReLU-conv-avgpool with a 1x1 shortcut (the ResNet discriminator's block)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1)  # each wrapped in spectral_norm by the discriminator, after its init

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        return F.avg_pool2d(h, 2) + F.avg_pool2d(self.skip(x), 2)


class Generator(nn.Module):
    num_classes = None

    def __init__(self, latent_dim: int = 32, widths: str = WIDTHS):
        super().__init__()
        first, second = parse_widths(widths)
        self.latent_dim, self.sample_shape = latent_dim, (1, 28, 28)
        self.first = first
        self.project = nn.Linear(latent_dim, first * 7 * 7)
        self.blocks = nn.Sequential(UpBlock(first, second), UpBlock(second, second))
        self.out = nn.Sequential(nn.BatchNorm2d(second), nn.ReLU(), nn.Conv2d(second, 1, 3, padding=1), nn.Tanh())
        sngan_init(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.blocks(self.project(z).reshape(z.shape[0], self.first, 7, 7)))


class Discriminator(nn.Module):
    num_classes = None

    def __init__(self, widths: str = WIDTHS, batchnorm: bool = False):
        super().__init__()
        first, second = parse_widths(widths)
        self.blocks = nn.Sequential(DownBlock(1, second), DownBlock(second, first))
        # with BatchNorm the trainer scores reals and fakes in two passes, where a cancelled gradient is exactly 0
        self.norm = nn.BatchNorm2d(first) if batchnorm else nn.Identity()
        self.linear = nn.Linear(first, 1)
        sngan_init(self)  # before spectral_norm, which wraps each weight
        for block in self.blocks:
            for name in ("conv1", "conv2", "skip"):
                setattr(block, name, spectral_norm(getattr(block, name)))
        self.linear = spectral_norm(self.linear)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.linear(F.relu(self.norm(self.blocks(x))).sum(dim=(2, 3))).flatten()


def sngan(name: str, loss: str, batchnorm: bool = False, **fields: object) -> ganzoo.ModelSpec:
    return ganzoo.ModelSpec(
        name=name, summary="SNGAN at 28x28 (tests only)", generator=Generator, discriminator=Discriminator,
        config={"latent_dim": 32, "widths": WIDTHS, "batchnorm": batchnorm}, options={"widths": str},
        sample_shapes=("1x28x28",),
        datasets=("mnist",), default_dataset="mnist", default_loss=loss, hyperparameters={"betas": (0.0, 0.9)},
        **fields,
    )


@ganzoo.hookimpl
def register_models(register):
    register(sngan("sngan-fixture", "non-saturating"))
    register(sngan("sngan-relativistic", "relativistic", batchnorm=True,
                   unchanged_under={"relativistic": ("discriminator.linear.bias",)}))
    register(sngan("sngan-undeclared", "relativistic", batchnorm=True))
