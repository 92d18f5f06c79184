"""Full-state training checkpoints, written atomically and read without unpickling code.

A checkpoint holds everything the next step depends on: both networks (with BatchNorm
running statistics), both optimizers, both gradient scalers, the step, the epoch and the
position in the epoch's permutation, every random-number generator (torch's global CPU
and CUDA generators, the data-order and noise generators, Python's ``random``), the fixed
sample noise and the metric history. That is what makes a resumed CPU run end with
bit-for-bit the weights of an uninterrupted one.

Only tensors, dicts, lists, tuples and plain numbers are stored, so the file loads with
``torch.load(weights_only=True)``: opening a checkpoint never runs code. Writes go to a
temporary file in the same folder, are fsynced and then renamed over the old file, so a
crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..files import write_atomic

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = "ganzoo-checkpoint"
CHECKPOINT_VERSION = 1


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (:func:`ganzoo.files.write_atomic`)."""
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state}
    return write_atomic(path, lambda file: torch.save(payload, file))


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors and plain data only)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no checkpoint at {path}; drop --resume to start a new run")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"checkpoint {path} cannot be read ({first}); move it away to start over") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError(f"{path} is not a ganzoo training checkpoint")
    if state.get("version", 0) > CHECKPOINT_VERSION:
        raise ConfigError(
            f"checkpoint {path} has format version {state.get('version')}; this ganzoo reads up to "
            f"{CHECKPOINT_VERSION}: upgrade ganzoo"
        )
    return state
