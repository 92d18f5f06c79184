"""``random-conv``: a fixed, randomly initialised conv net for image data with no trained extractor.

Faces, image folders and anything else without a classifier of its own would otherwise
get no number at all on a machine without Inception's weights. Random convolutional
features are a known, weaker but meaningful embedding (they still respond to colour,
edges and layout): distances in them rank models of the same data, but they are **not
comparable with Inception FID**, and the protocol and model cards say "random-feature
distances". The network is rebuilt from a fixed seed every time and identified by the
sha256 of its parameters, so a change of torch's random generator can never pass
silently.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import torch
from torch import nn

from ganzoo.nn import rgb_images_at

__all__ = ["INPUT_SIZE", "SEED", "RandomConvExtractor", "build"]

INPUT_SIZE = 64
SEED = 0


def _network() -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = [3, 32, 64, 128, 256]
    for c_in, c_out in itertools.pairwise(channels):
        layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    layers += [nn.AdaptiveAvgPool2d(2), nn.Flatten()]  # 256 channels x 2 x 2 = 1024 features
    return nn.Sequential(*layers)


def _initialise(net: nn.Module, seed: int) -> None:
    """Kaiming-normal weights and zero biases from a private generator (not the global RNG)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
                std = (2.0 / (1 + 0.2**2) / fan_in) ** 0.5
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
                module.bias.zero_()


def _parameters_sha256(net: nn.Module) -> str:
    digest = hashlib.sha256()
    for key, value in net.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


class RandomConvExtractor:
    """1024-d random conv features of ``[-1, 1]`` images of any size (resized to 64x64)."""

    name = "random-conv"
    feature_dim = 1024
    input_note = (
        f"resized to {INPUT_SIZE}x{INPUT_SIZE} (bilinear, antialiased), grayscale repeated to 3 channels; "
        "random-feature distances, not comparable with Inception FID"
    )

    def __init__(self, net: nn.Module, weights_sha256: str, device: Any):
        self.net = net.eval()
        self.weights_sha256 = weights_sha256
        self.device = torch.device(device)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return rgb_images_at(x, INPUT_SIZE, device=self.device, name=self.name, antialias=True)

    @torch.inference_mode()
    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.net(self.prepare(x)), None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.extract(x)[0]


def build(device: str = "cpu", seed: int = SEED) -> RandomConvExtractor:
    net = _network()
    _initialise(net, seed)
    sha = _parameters_sha256(net)
    return RandomConvExtractor(net.to(device), sha, device)
