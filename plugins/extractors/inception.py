"""``inception-v3``: torchvision's ImageNet Inception-v3, 2048-d pool features.

The weights (about 104 MB) are used only when they are already in the torch hub cache,
``$TORCH_HOME/hub/checkpoints/inception_v3_google-0cc3c7bd.pth``: an evaluation must not
start a download as a side effect. On a machine with internet, ``download=True``
(``ganzoo eval --download``) fetches them once into that cache.

These are torchvision's ``IMAGENET1K_V1`` weights, not the TensorFlow graph that
pytorch-fid and the original FID code use, so the values are close to but not equal to
published FIDs; the protocol records the weights' sha256 so numbers stay comparable
within ganzoo.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganzoo.errors import ConfigError, WeightsError
from ganzoo.nn import rgb_images_at
from ganzoo.plugin_api import file_sha256

__all__ = ["INPUT_SIZE", "InceptionExtractor", "build", "checkpoint_path"]

INPUT_SIZE = 299
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _weights_enum() -> Any:
    from torchvision.models import Inception_V3_Weights

    return Inception_V3_Weights.IMAGENET1K_V1


def checkpoint_path() -> Path:
    """Where torch hub keeps the weights file (whether or not it is there)."""
    url = _weights_enum().url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


class InceptionExtractor:
    """Maps ``[-1, 1]`` images of any size to Inception-v3 pool features ``(N, 2048)``."""

    name = "inception-v3"
    feature_dim = 2048
    input_note = (
        f"resized to {INPUT_SIZE}x{INPUT_SIZE} (bilinear), grayscale repeated to 3 channels, "
        "ImageNet-normalised; torchvision IMAGENET1K_V1 weights"
    )

    def __init__(self, net: nn.Module, weights_sha256: str, device: Any):
        self.net = net.eval()
        self.weights_sha256 = weights_sha256
        self.device = torch.device(device)
        self.mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = rgb_images_at(x, INPUT_SIZE, device=self.device, name=self.name)
        return ((x + 1) / 2 - self.mean) / self.std

    @torch.inference_mode()
    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.net(self.prepare(x)), None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.extract(x)[0]


def _network() -> nn.Module:
    from torchvision.models.inception import Inception3

    # transform_input=True converts the ImageNet normalisation back to the [-1, 1] scaling
    # the Google weights expect, exactly as torchvision configures them.
    return Inception3(num_classes=1000, aux_logits=True, transform_input=True, init_weights=False)


def build(device: str = "cpu", weights: str | None = "auto", download: bool = False) -> InceptionExtractor:
    """Inception-v3 pool features on ``device``.

    ``weights="auto"``: the ImageNet weights from the torch hub cache (downloaded there
    first when ``download`` is True); ``weights=None``: random initialisation, which only
    tests the plumbing and gives meaningless distances.
    """
    if weights not in ("auto", None):
        raise ConfigError(f"inception-v3 weights must be 'auto' or None, got {weights!r}")
    path = checkpoint_path()
    if weights == "auto" and not path.is_file():
        if not download:
            raise WeightsError(
                f"inception-v3 weights are not in the torch hub cache ({path}); copy "
                f"{_weights_enum().url} there, or run with --download on a machine with internet"
            )
        torch.hub.load_state_dict_from_url(_weights_enum().url, progress=True, check_hash=True)
    net = _network()
    if weights is None:
        sha = "random-init"
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except Exception as error:  # a truncated download, a different file under the same name
            raise WeightsError(
                f"inception-v3 weights at {path} are unusable ({type(error).__name__}); delete the file "
                "and fetch it again"
            ) from None
        sha = file_sha256(path)
    net.fc = nn.Identity()
    net.to(device)
    return InceptionExtractor(net, sha, device)
