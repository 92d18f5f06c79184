"""R3GAN's generator and discriminator (Huang et al., NeurIPS 2024) in plain PyTorch, for small images.

The recipe, as the paper's section 3 and its reference networks describe it:

* Residual blocks are inverted bottlenecks: a 1x1 convolution widens the features by ``expansion``, a
  grouped 3x3 convolution (``group_size`` channels per group) mixes them, a 1x1 convolution narrows them
  back. Leaky ReLU (0.2) after the first two, each with its own bias; no normalisation anywhere.
* Fix-up initialisation: the last convolution of every residual branch starts at zero, so each block is
  the identity at step 0 and the network is as deep as its trunk; the other layers are variance-scaled
  (MSR, fan-in) with the activation's gain times ``L ** (-1/4)``, ``L`` the number of blocks of the
  network, so that the sum of ``L`` branches keeps its variance once they train.
* The trunk between blocks is linear: a 1x1 convolution changes the width where stages differ, and the
  resolution changes by interpolation with the fixed [1, 2, 1] low-pass filter (the paper's
  ``upfirdn2d`` filter, here a depthwise (transposed) convolution so that nothing needs a custom op).
* G starts from a learned ``base x base`` basis scaled per channel by a linear map of ``z``; D ends with
  a depthwise ``base x base`` convolution over its last map and a linear map to one logit.

``patch`` (ganzoo's, for the CPU): with ``patch=p`` both networks work at ``image_size / p`` and fold each
``p x p`` patch of pixels into channels at the image end (G: a 1x1 convolution to ``channels * p**2`` maps
and a pixel shuffle; D: a pixel unshuffle and a 1x1 convolution), as ConvNeXt's patchify stem does. The fold
is lossless both ways, so D still sees every pixel, and the most expensive stage (the full-resolution one,
where a step spent half its time on this CPU) is gone; ``patch=1`` is the paper's layout.

What changed for ganzoo: G ends with ``tanh`` (ganzoo's generators give images in ``[-1, 1]`` for every
latent; the paper's G is linear at the output); the 3x3 convolutions' bias is the convolution's own
(the paper adds it in the activation: the same function); 28x28 images use three stages 7 -> 14 -> 28
with a 7x7 basis instead of padding to 32x32, which costs a quarter more pixels at every stage and
spends G's capacity on a border that the crop throws away.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ganzoo.errors import ConfigError
from ganzoo.nn import positive_int

__all__ = [
    "IMAGE_SIZES",
    "PATCHES",
    "R3Discriminator",
    "R3Generator",
    "ResidualBlock",
    "parse_widths",
]

IMAGE_SIZES = (28, 64)
_MODEL = "r3gan"
_LEAK = 0.2
_ACTIVATION_GAIN = math.sqrt(2 / (1 + _LEAK**2))
"""The gain that keeps a leaky ReLU's output variance equal to its input's (He et al. 2015)."""
_LOWPASS = (1.0, 3.0, 3.0, 1.0)
"""[1, 2, 1] convolved with the nearest-neighbour [1, 1]: the separable filter of a 2x resampling."""
MAX_STAGES = 8


def parse_widths(widths: str | Sequence[int], image_size: int, patch: int = 1) -> tuple[int, ...]:
    """``"256,128,64"`` (lowest resolution first) as a tuple, checked against ``image_size`` and ``patch``.

    Each stage after the first doubles the resolution, so ``image_size / patch`` must be
    ``base * 2**(stages-1)`` with a base of at least 4 pixels; the error names the option and what would fit.
    """
    if isinstance(widths, str):
        parts = [p.strip() for p in widths.split(",")]
        try:
            values = tuple(int(p) for p in parts)
        except ValueError:
            raise ConfigError(f"{_MODEL}: widths must be comma-separated whole numbers like '256,128,64', "
                              f"got {widths!r}") from None
    else:
        values = tuple(widths)
    if not values or len(values) > MAX_STAGES:
        raise ConfigError(f"{_MODEL}: widths must name 1 to {MAX_STAGES} stages, got {widths!r}")
    for value in values:
        positive_int(value, "each of widths", _MODEL)
    base, remainder = divmod(image_size // patch, 2 ** (len(values) - 1))
    if remainder or base < 4:
        folded = f" folded by patch={patch}" if patch > 1 else ""
        raise ConfigError(f"{_MODEL}: {len(values)} stages do not fit image_size={image_size}{folded} (each stage "
                          f"doubles the resolution from a base of at least 4 pixels); give fewer widths")
    return values


PATCHES = (1, 2, 4)


def _patch(value: object, image_size: int) -> int:
    if isinstance(value, bool) or value not in PATCHES or image_size % int(value):  # type: ignore[call-overload]
        allowed = ", ".join(str(p) for p in PATCHES if image_size % p == 0)
        raise ConfigError(f"{_MODEL}: patch must be one of {allowed} for image_size={image_size}, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def _image_size(value: object) -> int:
    if isinstance(value, bool) or value not in IMAGE_SIZES:
        allowed = ", ".join(str(s) for s in IMAGE_SIZES)
        raise ConfigError(f"{_MODEL}: image_size must be one of {allowed}, got {value!r}")
    return int(value)  # type: ignore[arg-type]


@torch.no_grad()
def msr_init(layer: nn.Conv2d | nn.Linear, gain: float = 1.0) -> nn.Module:
    """Weights N(0, (gain / sqrt(fan_in))^2), biases zero: a gain of 0 zeroes the layer."""
    fan_in = layer.weight[0].numel()
    layer.weight.normal_(0.0, gain / math.sqrt(fan_in))
    if layer.bias is not None:
        layer.bias.zero_()
    return layer


def _conv(inputs: int, outputs: int, kernel: int = 1, *, groups: int = 1, bias: bool = False,
          gain: float = 1.0) -> nn.Conv2d:
    return msr_init(nn.Conv2d(inputs, outputs, kernel, padding=kernel // 2, groups=groups, bias=bias), gain)


class ResidualBlock(nn.Module):
    """``x + conv1x1(lrelu(grouped conv3x3(lrelu(conv1x1(x)))))``, the last convolution zero at init."""

    def __init__(self, width: int, *, expansion: int, group_size: int, total_blocks: int):
        super().__init__()
        expanded = width * expansion
        if expanded % group_size:
            raise ConfigError(f"{_MODEL}: group_size={group_size} must divide every stage's width times expansion "
                              f"({width} x {expansion} = {expanded})")
        # three linear layers per branch: the variance of L branches stays bounded with gain * L^(-1/(2*3-2))
        gain = _ACTIVATION_GAIN * total_blocks ** (-1 / 4)
        self.expand = _conv(width, expanded, 1, bias=True, gain=gain)
        self.mix = _conv(expanded, expanded, 3, groups=expanded // group_size, bias=True, gain=gain)
        self.project = _conv(expanded, width, 1, gain=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.expand(x), _LEAK)
        y = F.leaky_relu(self.mix(y), _LEAK)
        return x + self.project(y)


class _Resample(nn.Module):
    """2x up- or downsampling of every channel with the fixed low-pass filter (a buffer, not a weight)."""

    def __init__(self, up: bool):
        super().__init__()
        taps = torch.tensor(_LOWPASS)
        kernel = torch.outer(taps, taps)
        kernel = kernel / kernel.sum() * (4.0 if up else 1.0)  # upsampling spreads each pixel over four
        self.register_buffer("kernel", kernel.view(1, 1, 4, 4), persistent=False)
        self.up = up

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        kernel = self.kernel.to(x.dtype).expand(channels, 1, 4, 4)
        if self.up:
            return F.conv_transpose2d(x, kernel, stride=2, padding=1, groups=channels)
        return F.conv2d(x, kernel, stride=2, padding=1, groups=channels)


def _stage_blocks(width: int, count: int, expansion: int, group_size: int, total: int) -> list[nn.Module]:
    return [ResidualBlock(width, expansion=expansion, group_size=group_size, total_blocks=total)
            for _ in range(count)]


class _Options:
    """The options both networks share, checked once with errors that name them."""

    def __init__(self, image_size: object, channels: object, widths: str | Sequence[int], blocks: object,
                 expansion: object, group_size: object, patch: object):
        self.image_size = _image_size(image_size)
        self.channels = positive_int(channels, "channels", _MODEL)
        self.patch = _patch(patch, self.image_size)
        self.widths = parse_widths(widths, self.image_size, self.patch)
        self.blocks = positive_int(blocks, "blocks", _MODEL)
        self.expansion = positive_int(expansion, "expansion", _MODEL)
        self.group_size = positive_int(group_size, "group_size", _MODEL)
        self.base = self.image_size // self.patch // 2 ** (len(self.widths) - 1)
        self.folded_channels = self.channels * self.patch**2
        self.total_blocks = self.blocks * len(self.widths)

    def blocks_at(self, width: int) -> list[nn.Module]:
        return _stage_blocks(width, self.blocks, self.expansion, self.group_size, self.total_blocks)


class R3Generator(nn.Module):
    """z -> basis (widths[0] x base x base) -> [blocks, 2x up] per stage -> 1x1 conv [-> unfold] -> tanh."""

    num_classes: int | None = None

    def __init__(self, latent_dim: int = 64, image_size: int = 28, channels: int = 1,
                 widths: str | Sequence[int] = "128,64,32", blocks: int = 1, expansion: int = 2,
                 group_size: int = 16, patch: int = 1):
        super().__init__()
        opts = _Options(image_size, channels, widths, blocks, expansion, group_size, patch)
        self.latent_dim = positive_int(latent_dim, "latent_dim", _MODEL)
        self.image_size = opts.image_size
        self.sample_shape = (opts.channels, opts.image_size, opts.image_size)
        first = opts.widths[0]
        self.basis = nn.Parameter(torch.randn(first, opts.base, opts.base))
        self.basis_scale = msr_init(nn.Linear(self.latent_dim, first, bias=False))
        layers: list[nn.Module] = opts.blocks_at(first)
        for before, after in itertools.pairwise(opts.widths):
            if before != after:
                layers.append(_conv(before, after))
            layers.append(_Resample(up=True))
            layers += opts.blocks_at(after)
        self.trunk = nn.Sequential(*layers)
        self.to_image = _conv(opts.widths[-1], opts.folded_channels)
        self.patch = opts.patch

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in ``[-1, 1]``, shape ``(N, channels, image_size, image_size)``; ``labels`` is ignored."""
        x = self.basis.unsqueeze(0) * self.basis_scale(z.reshape(z.shape[0], self.latent_dim))[:, :, None, None]
        x = self.to_image(self.trunk(x))
        if self.patch > 1:
            x = F.pixel_shuffle(x, self.patch)
        return torch.tanh(x)


class R3Discriminator(nn.Module):
    """image [-> fold] -> 1x1 conv -> [blocks, 2x down] per stage -> depthwise base x base conv -> linear -> logit."""

    num_classes: int | None = None

    def __init__(self, image_size: int = 28, channels: int = 1, widths: str | Sequence[int] = "128,64,32",
                 blocks: int = 1, expansion: int = 2, group_size: int = 16, patch: int = 1):
        super().__init__()
        opts = _Options(image_size, channels, widths, blocks, expansion, group_size, patch)
        self.image_size = opts.image_size
        self.sample_shape = (opts.channels, opts.image_size, opts.image_size)
        widths_down = opts.widths[::-1]  # the generator's stages mirrored: highest resolution first
        self.patch = opts.patch
        self.from_image = _conv(opts.folded_channels, widths_down[0])
        layers: list[nn.Module] = []
        for before, after in itertools.pairwise(widths_down):
            layers += opts.blocks_at(before)
            layers.append(_Resample(up=False))
            if before != after:
                layers.append(_conv(before, after))
        last = widths_down[-1]
        layers += opts.blocks_at(last)
        self.trunk = nn.Sequential(*layers)
        self.basis = _conv(last, last, opts.base, groups=last)
        self.basis.padding = (0, 0)  # valid: one value per channel from the whole base x base map
        self.to_logit = msr_init(nn.Linear(last, 1, bias=False))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One raw logit per image, shape ``(N,)``; ``labels`` is ignored."""
        if self.patch > 1:
            x = F.pixel_unshuffle(x, self.patch)
        features = self.basis(self.trunk(self.from_image(x)))
        return self.to_logit(features.flatten(1)).flatten()
