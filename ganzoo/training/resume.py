"""Resuming a run: the request merged with what the run's checkpoint recorded, or a one-line conflict.

Settings that define the run's data stream, networks and training practices are fixed for its life
(:data:`FIXED_ON_RESUME`): a resumed run inherits them when they are not given and refuses a different
value, because exact resume (a resumed run ends with an uninterrupted run's weights) depends on them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io.files import jsonable
from ..io.folderguard import FolderGuard
from ..models.model_options import coerce_loss_options, coerce_options
from .config import TrainConfig
from .practices import BEFORE_PRACTICES, PRACTICE_SETTINGS
from .schedules import parse_schedules

__all__ = ["FIXED_ON_RESUME", "check_resume_compatible"]

# Settings that define the run's data stream and networks: a resumed run must keep them.
FIXED_ON_RESUME = (
    "model", "dataset", "loss", "options", "loss_options", "batch_size", "seed", "limit", "split", "reuse_fakes",
    *PRACTICE_SETTINGS,
)


def _typed(key: str, values: Mapping[str, Any], request: TrainConfig, saved: Mapping[str, Any]) -> dict[str, Any]:
    """``--option``/``--loss-option`` values as the run recorded them: typed by the model's (or loss's)
    declared options, so ``d_steps=2`` from the command line equals the checkpoint's ``2``."""
    from ..registry.catalog import get_model_spec, get_registry

    model = get_model_spec(request.model)
    if key == "options":
        return coerce_options(model, values)
    loss = get_registry().losses.get(request.loss or saved.get("loss") or "", prefer=model.plugin)
    return coerce_loss_options(loss, values)


def check_resume_compatible(request: TrainConfig, saved: Mapping[str, Any], out: Path) -> TrainConfig:
    """The request to resume with: unset fields from the checkpoint; a changed fixed setting is an error."""
    merged = dataclasses.replace(request)
    for key in FIXED_ON_RESUME:
        mine = getattr(request, key)
        theirs = saved.get(key, BEFORE_PRACTICES.get(key))  # a run from before a setting existed did without
        if key in ("options", "loss_options"):
            typed = _typed(key, mine, request, saved) if mine else {}
            if mine and jsonable(typed) != jsonable(theirs or {}):
                flag = "--" + key.replace("_", "-")[: -len("s")]
                raise ConfigError(
                    f"{out} holds a run with {key.replace('_', ' ')} {theirs or {}}, not {typed}; "
                    f"resume without {flag} (or with the same values) or choose another --out"
                )
            setattr(merged, key, dict(theirs or {}))
            continue
        if key == "seed":  # 0 is the default: only an explicit different seed conflicts
            if mine not in (0, theirs):
                raise ConfigError(f"{out} holds a run with --seed {theirs}, not {mine}; choose another --out")
            merged.seed = int(theirs)
            continue
        if key == "schedule":  # compared as schedules: 2e-4 and 0.0002 are one value
            recorded = parse_schedules(theirs)
            if mine is not None and parse_schedules(mine) != recorded:
                spelled = " ".join(s.spelling() for s in recorded) or "none"
                raise ConfigError(f"{out} holds a run with --schedule {spelled}; resume it without --schedule (or "
                                  "with the same schedules) or choose another --out")
            merged.schedule = tuple(s.spelling() for s in recorded)
            continue
        if key == "split" and mine == "train":
            merged.split = theirs or "train"
            continue
        if mine is not None and theirs is not None and mine != theirs:
            raise ConfigError(
                f"{out} holds a {key} {theirs!r} run, not {mine!r}; resume it unchanged or choose another --out"
            )
        if mine is None:
            setattr(merged, key, theirs)
    if merged.lr is None and saved.get("lr") is not None:
        merged.lr = float(saved["lr"])
    if merged.betas is None and saved.get("betas") is not None:
        merged.betas = (float(saved["betas"][0]), float(saved["betas"][1]))
    if merged.steps is None and merged.epochs is None:
        merged.steps = saved.get("steps")
        merged.epochs = saved.get("epochs") if merged.steps is None else None
    for key in ("sample_every", "checkpoint_every", "log_every"):
        if getattr(merged, key) is None:
            setattr(merged, key, saved.get(key))
    if merged.callbacks is None:  # side jobs may change on resume; unset, the run keeps its own
        merged.callbacks = tuple(saved.get("callbacks") or ())
    if merged.tensorboard is None and saved.get("tensorboard"):  # the curves go on where they were
        merged.tensorboard = FolderGuard(out, what="run folder").recorded(
            str(saved["tensorboard"]), source=f"the checkpoint of {out}",
            fix="resume with --tensorboard (events in OUT/tb) or --tensorboard-dir DIR",
        )
    if merged.data_license is None:  # not fixed: it changes no result, and a resume may state a missing one
        merged.data_license = saved.get("data_license")
    if merged.compile is None:  # not fixed: compiling changes the rounding only; unset, the run keeps its own
        merged.compile = bool(saved.get("compile", False))
        merged.compile_mode = merged.compile_mode or (saved.get("compile_mode") if merged.compile else None)
    return merged
