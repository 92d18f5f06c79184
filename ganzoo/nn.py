"""Small building blocks shared by GAN networks, built-in or from a third-party plugin.

Only network modules import this file, so it imports torch at the top; nothing that
``ganzoo list`` loads may import it.
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import ConfigError

__all__ = [
    "DCGAN_INIT_STD",
    "check_labels",
    "count_parameters",
    "dcgan_init",
    "interpolate_gradient_norms",
    "positive_float",
    "positive_int",
    "rgb_images_at",
    "sample_shape_of",
    "uint8_to_unit",
]

DCGAN_INIT_STD = 0.02
"""Radford et al. (2016), section 4: "All weights were initialized from a zero-centered
Normal distribution with standard deviation 0.02"."""

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def uint8_to_unit(pixels: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 pixels in ``[0, 255]`` as a new ``dtype`` tensor in ``[-1, 1]``: ``x * (1 / 127.5) - 1``.

    The one conversion that training, the datasets, the metrics' real features and the
    extractors share, so real images mean the same numbers everywhere. Multiplying by the
    reciprocal is not bit-identical to dividing by 127.5 (111 of the 256 values differ in
    the last bit); the trainer has always multiplied, and its exported weights must not change.
    """
    if pixels.dtype != torch.uint8:
        raise ValueError(f"uint8_to_unit takes uint8 pixels, got {pixels.dtype}")
    return pixels.to(dtype).mul_(1 / 127.5).sub_(1.0)


@torch.no_grad()
def dcgan_init(module: nn.Module, std: float = DCGAN_INIT_STD) -> nn.Module:
    """Initialise ``module`` (recursively) the way the DCGAN paper did, and return it.

    PyTorch's default (Kaiming-uniform) init gives wider first-step activations; the
    classic DCGAN recipe and its learning rate of 2e-4 were tuned for N(0, 0.02) weights
    and BatchNorm scales N(1, 0.02), so models that follow the recipe use this.
    Convolutions, transposed convolutions and linear layers get weights N(0, std) and zero
    biases; BatchNorm layers get weights N(1, std) and zero biases. Other layers
    (embeddings, say) keep their own initialisation.
    """
    for layer in module.modules():
        if isinstance(layer, _WEIGHTED):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, _NORMS):
            if layer.weight is not None:
                nn.init.normal_(layer.weight, 1.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def interpolate_gradient_norms(
    discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-sample L2 norms of D's input gradient at random interpolates of real and fake samples.

    The common core of gradient penalties (WGAN-GP, WGAN-LP and their kin), so that each loss
    states only what it does with the norms. Each sample gets its own mixing weight
    ``alpha ~ U(0, 1)`` and its norm is taken over all its non-batch dimensions, as in Gulrajani
    et al. (2017); the graph is kept (``create_graph``) so that a penalty on the norms trains D.
    """
    real = real.detach()
    fake = fake.detach().to(real.dtype)
    alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
    scores = discriminator(mixed, labels)
    (gradient,) = torch.autograd.grad(scores.float().sum(), mixed, create_graph=True)
    return gradient.flatten(1).float().norm(2, dim=1)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """The number of scalar parameters of ``module`` (model cards and ``ganzoo info`` show it)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def check_labels(labels: torch.Tensor | None, batch_size: int, num_classes: int, model: str) -> torch.Tensor:
    """Return ``labels`` if a conditional ``model`` can use them with a batch of ``batch_size``.

    Checks only what costs no device synchronisation (presence, shape, dtype); an
    out-of-range class index still fails inside the embedding lookup.
    """
    if labels is None:
        raise ConfigError(f"{model} is conditional: pass labels, an (N,) int64 tensor of classes in [0, {num_classes})")
    # under torch.jit.trace the batch size is a traced value: the file's own inputs fix the shape there
    if not torch.jit.is_tracing() and labels.shape != (batch_size,):
        raise ConfigError(f"{model}: labels must have shape ({batch_size},), got {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ConfigError(f"{model}: labels must be integer class indices, got {labels.dtype}")
    return labels


def positive_int(value: object, name: str, model: str) -> int:
    """``value`` as an int, or a ConfigError naming the option (users set these with ``--option``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{model}: {name} must be a positive integer, got {value!r}")
    return int(value)


def positive_float(value: object, name: str, model: str) -> float:
    """``value`` as a float, or a ConfigError naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{model}: {name} must be a positive number, got {value!r}")
    return float(value)


def sample_shape_of(sample_shape: object, model: str) -> tuple[int, ...]:
    """``sample_shape`` as a tuple of positive ints, or a ConfigError."""
    try:
        shape = tuple(int(s) for s in sample_shape)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        shape = ()
    if not shape or any(s <= 0 for s in shape):
        raise ConfigError(f"{model}: sample_shape must be a non-empty tuple of positive sizes, got {sample_shape!r}")
    return shape


def rgb_images_at(
    x: torch.Tensor, size: int, *, device: torch.device | str, name: str, antialias: bool = False
) -> torch.Tensor:
    """Images ``(N, 1 or 3, H, W)`` as float32 RGB ``(N, 3, size, size)`` on ``device``, for a feature extractor.

    Grey images are repeated to three channels and other sizes resized bilinearly, so that
    one extractor serves 28x28 digits and 128x128 faces alike; ``name`` (the extractor's)
    goes into the error for anything that is not a batch of images.
    """
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ConfigError(f"{name} takes images (N, 1 or 3, H, W), got shape {tuple(x.shape)}")
    x = x.to(device, torch.float32)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-2:] != (size, size):
        x = nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)
    return x
