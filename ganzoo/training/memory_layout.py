"""A run's memory layout: ``--memory-format``'s words, the decision for channels-last, and how a run records it.

``channels-last`` is NHWC, which oneDNN's CPU convolutions and the tensor cores of GPUs prefer; ``contiguous`` is
PyTorch's default NCHW, which ``ganzoo.load`` gives. The trainer and :class:`ganzoo.lightning.GANModule` decide
here, the option table and the resume read the words from here, and the run records the layout it used so that a
resume keeps it. Importing this module does not import torch (the CLI checks ``--memory-format`` before any).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

__all__ = ["MEMORY_FORMATS", "layout_word", "parse_memory_format", "uses_channels_last"]

MEMORY_FORMATS = ("auto", "channels-last", "contiguous")
"""``--memory-format``'s words: the layout of convolutional networks and image batches (:func:`parse_memory_format`)."""


def parse_memory_format(value: Any) -> str:
    """``--memory-format``'s word, spelled canonically (``channels_last`` -> ``channels-last``); None: ``auto``.

    ``auto`` is channels-last for image data when either network has a convolution. The layout changes no result
    but float32 rounding."""
    if value is None:
        return "auto"
    word = str(value).strip().lower().replace("_", "-")
    if word not in MEMORY_FORMATS:
        raise ConfigError(f"--memory-format must be one of {', '.join(MEMORY_FORMATS)}, got {str(value)[:40]!r}")
    return word


def layout_word(channels_last: bool) -> str:
    """How ``config.json`` and the checkpoint record the layout a run used, so that a resume keeps it."""
    return "channels-last" if channels_last else "contiguous"


def _has_conv(module: nn.Module) -> bool:
    from torch import nn

    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in module.modules())


def uses_channels_last(setting: str | None, sample_dims: int, *networks: nn.Module, images: bool = True) -> bool:
    """Whether a run lays its networks and image batches out channels-last (``--memory-format``, ``setting``).

    ``auto`` (None) says yes for images (``images``, samples of ``sample_dims`` 3) when a network has a
    convolution. The layout changes float32 rounding only, so the contract's ``train`` check compares a trained
    and a reloaded generator in the same layout."""
    word = parse_memory_format(setting)
    if word == "contiguous":
        return False
    if sample_dims != 3:
        if word == "channels-last":
            raise ConfigError(f"--memory-format channels-last needs images (samples of 3 dimensions, C x H x W); "
                              f"these samples have {sample_dims}: leave it at auto or use contiguous")
        return False
    return word == "channels-last" or (images and any(_has_conv(network) for network in networks))
