"""Sample shapes as ``ModelSpec.sample_shapes`` writes them: ``"1x28x28"``, matched as fnmatch patterns.

A shape is written with ``x`` between its sizes so that one pattern language (fnmatch, as
for ``datasets``) says both "exactly 1x28x28" and "any number of channels at 64x64"
(``"*x64x64"``) or "anything" (``"*"``). Nothing here imports torch.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from ..errors import ConfigError

__all__ = ["check_patterns", "check_shape_patterns", "data_shape", "shape_matches", "shape_text"]

_SHAPE = re.compile(r"^[0-9*?\[\]x-]+$")


def shape_text(shape: tuple[int, ...]) -> str:
    """``(1, 28, 28)`` as ``"1x28x28"``, the spelling ``ModelSpec.sample_shapes`` matches."""
    return "x".join(str(int(s)) for s in shape)


def check_patterns(model: str, field_name: str, patterns: Any) -> tuple[str, ...]:
    if isinstance(patterns, str):
        raise ConfigError(f"model {model!r}: {field_name} must be a tuple; write {field_name}=({patterns!r},)")
    if not all(isinstance(p, str) for p in patterns):
        raise ConfigError(f"model {model!r}: {field_name} must be a tuple of fnmatch patterns, got {patterns!r}")
    return tuple(patterns)


def check_shape_patterns(model: str, shapes: Any) -> tuple[str, ...]:
    """``sample_shapes`` as ``"CxHxW"`` patterns; a tuple of ints is written out, a bad pattern refused."""
    if isinstance(shapes, str):
        raise ConfigError(f"model {model!r}: sample_shapes must be a tuple; write sample_shapes=({shapes!r},)")
    found = []
    for shape in shapes:
        if isinstance(shape, (tuple, list)) and shape and all(isinstance(s, int) and s > 0 for s in shape):
            shape = shape_text(tuple(shape))
        if not isinstance(shape, str) or not _SHAPE.match(shape):
            raise ConfigError(
                f"model {model!r}: sample shape {shape!r} is not a shape like '1x28x28' or a pattern like "
                "'*x64x64' ('*' for any)"
            )
        found.append(shape)
    return tuple(found)


def shape_matches(patterns: tuple[str, ...], shape: tuple[int, ...] | None) -> bool:
    """Whether ``shape`` is one of ``patterns``; an unknown shape (None) matches only ``"*"``."""
    if shape is None:
        return "*" in patterns
    text = shape_text(shape)
    return any(fnmatch.fnmatchcase(text, pattern) for pattern in patterns)


def data_shape(sample_shape: tuple[int, ...] | None, channels: int | None, image_size: Any) -> tuple[int, ...] | None:
    """One sample's shape: a dataset's ``sample_shape``, or, for a dataset that resizes to the model's
    ``image_size``, ``(channels, image_size, image_size)``; None when unknown (no ``image_size``)."""
    if sample_shape is not None:
        return tuple(sample_shape)
    if channels and isinstance(image_size, int) and not isinstance(image_size, bool):
        return (channels, image_size, image_size)
    return None
