"""Augmentation of the discriminator's inputs: DiffAugment and its adaptive (ADA) variant.

Plain torch on whole batches, so it runs on any device, under autocast, and inside the generator's
graph. The trainer uses it through ``--augment``; code of one's own can call :class:`Augmenter`.
"""

from __future__ import annotations

from .ops import OPERATIONS, brightness, contrast, cutout, saturation, translation
from .policy import ADA_INTERVAL, LEAK_P, Augmenter, AugmentPolicy, parse_augment

__all__ = [
    "ADA_INTERVAL", "LEAK_P", "OPERATIONS", "AugmentPolicy", "Augmenter", "brightness", "contrast", "cutout",
    "parse_augment", "saturation", "translation",
]
