"""Full-state training checkpoints, written atomically and read without unpickling code.

A checkpoint holds everything the next step depends on: the ``state_dict()`` of every stateful
part of the run, by name (both networks with their BatchNorm statistics, both optimizers and
gradient scalers, the data and noise streams with their generators, the fixed sample noise, the
metric window, the counters and log records), plus every rank's global generators (torch's CPU
and CUDA generators, Python's ``random``) and the settings a resumed run must share. That is what
makes a resumed CPU run end with bit-for-bit the weights of an uninterrupted one.

Format version 2 (this one) keeps the parts under ``"parts"``; version 1 kept some thirty keys in
one flat dict. :func:`load_checkpoint` reads both and returns the version-2 shape.

Only tensors, dicts, lists, tuples and plain numbers are stored, so the file loads with
``torch.load(weights_only=True)``: opening a checkpoint never runs code. What it holds is then
checked like any untrusted record (:func:`ganzoo.io.untrusted.check_fields`): the parts and
settings a resume reads must be there, of their kinds, or the file is refused in one line
naming it and the field (:data:`CHECKPOINT_FIELDS`, :data:`VERSION_1_FIELDS`, :data:`RUN_FIELDS`).
Writes go to a temporary file in the same folder, are fsynced and then renamed over the old
file, so a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..io.files import write_atomic
from ..io.untrusted import Field, check_fields

__all__ = [
    "CHECKPOINT_FIELDS",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "RUN_FIELDS",
    "VERSION_1_FIELDS",
    "load_checkpoint",
    "save_checkpoint",
    "upgrade_v1",
]

CHECKPOINT_FORMAT = "ganzoo-checkpoint"
CHECKPOINT_VERSION = 2

RUN_FIELDS = {
    "model": Field("string", required=True),
    "dataset": Field("string", nullable=True),
    "loss": Field("string", nullable=True),
    "options": Field("mapping", nullable=True),
    "loss_options": Field("mapping", nullable=True),
    "batch_size": Field("integer", nullable=True),
    "seed": Field("integer", nullable=True),
    "limit": Field("integer", nullable=True),
    "split": Field("string", nullable=True),
    "lr": Field("number", nullable=True),
    "betas": Field("list", nullable=True),
    "steps": Field("integer", nullable=True),
    "epochs": Field("number", nullable=True),
    "world_size": Field("integer", nullable=True),
    "callbacks": Field("list", nullable=True),
    "callback_options": Field("mapping", nullable=True),
    "tensorboard": Field("string", nullable=True),
    "data_dir": Field("string", nullable=True),
    "compile_mode": Field("string", nullable=True),
    "data_license": Field("string", nullable=True),
}
"""The run record's settings that a resume reads (``ganzoo.training.resume``), and what each must be."""
CHECKPOINT_FIELDS = {
    "run": Field("mapping", required=True),
    "parts": Field("mapping", required=True),
    "model_config": Field("mapping", required=True),
    "request": Field("mapping", nullable=True),
    "commands": Field("list", nullable=True),
    "total_steps": Field("integer", nullable=True),
}
"""What a version-2 checkpoint must hold (each part is checked by the part that restores from it)."""
VERSION_1_FIELDS = {
    **{name: Field("any", required=True) for name in (
        "generator", "discriminator", "opt_g", "opt_d", "scaler_g", "scaler_d", "epoch", "position", "data_rng",
        "noise_rng", "fixed_noise")},
    "step": Field("integer", required=True),
    "run": Field("mapping", required=True),
    "model_config": Field("mapping", required=True),
    "rank_rng": Field("list", nullable=True),
}
"""What :func:`upgrade_v1` reads of a version-1 checkpoint (one flat dict)."""
_GLOBAL_RNG_FIELDS = {"torch_rng": Field("any", required=True), "python_rng": Field("any", required=True)}


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (:func:`ganzoo.io.files.write_atomic`)."""
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
    source, fix = f"checkpoint {path}", "it was not written by ganzoo train: move it away to start over"
    check_fields(state, {"version": Field("integer")}, source=source, error=ConfigError, fix=fix)
    version = state.get("version", 0)
    if version > CHECKPOINT_VERSION:
        raise ConfigError(
            f"checkpoint {path} has format version {version}; this ganzoo reads up to "
            f"{CHECKPOINT_VERSION}: upgrade ganzoo"
        )
    if version < 2:
        check_fields(state, VERSION_1_FIELDS, source=source, error=ConfigError, fix=fix)
        ranks = state.get("rank_rng") or [state]
        for rank, entry in enumerate(ranks):
            check_fields(entry, _GLOBAL_RNG_FIELDS, source=source, error=ConfigError, fix=fix,
                         prefix=f"rank_rng[{rank}]." if state.get("rank_rng") else "")
        state = upgrade_v1(state)
    check_fields(state, CHECKPOINT_FIELDS, source=source, error=ConfigError, fix=fix)
    check_fields(state["run"], RUN_FIELDS, source=source, error=ConfigError, fix=fix, prefix="run.")
    return state


def upgrade_v1(state: Mapping[str, Any]) -> dict[str, Any]:
    """A version-1 checkpoint (one flat dict) in the version-2 shape (parts by name)."""
    if state.get("rank_rng"):  # several processes: one entry per rank
        ranks = state["rank_rng"]
    else:
        ranks = [{"torch_rng": state["torch_rng"], "cuda_rng": state.get("cuda_rng"),
                  "python_rng": state["python_rng"]}]
    parts: dict[str, Any] = {
        "generator": state["generator"],
        "discriminator": state["discriminator"],
        "g_update": {"optimizer": state["opt_g"], "scaler": state["scaler_g"]},
        "d_update": {"optimizer": state["opt_d"], "scaler": state["scaler_d"]},
        "batches": {"epoch": state["epoch"], "position": state["position"],
                    "permutation": state.get("permutation"), "rng": state["data_rng"]},
        "noise": {"rng": state["noise_rng"], "device": None, "draws": state["step"]},
        "global_rng": [{"torch": r["torch_rng"], "cuda": r.get("cuda_rng"), "python": r["python_rng"]}
                       for r in ranks],
        "fixed_samples": {"noise": state["fixed_noise"], "labels": state.get("fixed_labels")},
        "window": {"rows": state.get("window"), "images": state.get("window_images", 0)},
        "counters": {"step": state["step"], "images_seen": state.get("images_seen", 0),
                     "wall_time_s": state.get("wall_time_s", 0.0), "history": state.get("history", [])},
    }
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "upgraded_from": 1,
        **{key: state.get(key) for key in ("run", "request", "model_config", "commands", "total_steps",
                                             "ganzoo_version")},
        "parts": parts,
    }
