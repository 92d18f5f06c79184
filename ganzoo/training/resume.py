"""Resuming a run: the request merged with what the run's checkpoint recorded, or a one-line conflict.

What a resume does with each option is declared in the option table (:attr:`.optiontable.TrainOption.resume`):
``fixed`` settings define the run's data stream, networks and training practices, so a resumed run inherits
them when they are not given and refuses a different value, because exact resume (a resumed run ends with an
uninterrupted run's weights) depends on them; ``inherit`` settings are the checkpoint's unless given (a lower
learning rate, a gradient clip for a run that diverged); ``session`` ones are never recorded. A few settings
are compared or inherited together, and those couplings are spelled out below (:data:`_SAME`, :func:`_inherit`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io.files import jsonable
from ..io.folderguard import FolderGuard
from ..models.model_options import coerce_callback_options, coerce_loss_options, coerce_options
from .config import TrainConfig, restored
from .optiontable import TRAIN_OPTIONS, TrainOption, config_fields
from .schedules import parse_schedules

__all__ = ["FIXED_ON_RESUME", "check_resume_compatible"]

FIXED_ON_RESUME = tuple(option.name for option in TRAIN_OPTIONS if option.resume == "fixed")
"""Settings that define the run's data stream and networks: a resumed run must keep them."""


def _typed(key: str, values: Mapping[str, Any], request: TrainConfig, saved: Mapping[str, Any]) -> dict[str, Any]:
    """``--option``/``--loss-option`` values as the run recorded them: typed by the model's (or loss's)
    declared options, so ``d_steps=2`` from the command line equals the checkpoint's ``2``."""
    from ..registry.catalog import get_model_spec, get_registry

    model = get_model_spec(request.model)
    if key == "options":
        return coerce_options(model, values)
    loss = get_registry().losses.get(request.loss or saved.get("loss") or "", prefer=model.plugin)
    return coerce_loss_options(loss, values)


def _same_options(key: str) -> Callable[..., Any]:
    def refuse(mine: Any, theirs: Any, request: TrainConfig, saved: Mapping[str, Any], out: Path) -> Any:
        typed = _typed(key, mine, request, saved) if mine else {}
        if mine and jsonable(typed) != jsonable(theirs or {}):
            flag = "--" + key.replace("_", "-")[: -len("s")]
            raise ConfigError(
                f"{out} holds a run with {key.replace('_', ' ')} {theirs or {}}, not {typed}; "
                f"resume without {flag} (or with the same values) or choose another --out"
            )
        return dict(theirs or {})
    return refuse


def _same_schedules(mine: Any, theirs: Any, request: TrainConfig, saved: Mapping[str, Any], out: Path) -> Any:
    recorded = parse_schedules(theirs)  # compared as schedules: 2e-4 and 0.0002 are one value
    if mine is not None and parse_schedules(mine) != recorded:
        spelled = " ".join(s.spelling() for s in recorded) or "none"
        raise ConfigError(f"{out} holds a run with --schedule {spelled}; resume it without --schedule (or "
                          "with the same schedules) or choose another --out")
    return tuple(s.spelling() for s in recorded)


def _same_callback_options(
    mine: Any, theirs: Any, request: TrainConfig, saved: Mapping[str, Any], out: Path
) -> dict[str, dict[str, Any]]:
    """A callback the run keeps keeps its options, as the model and the loss keep theirs: unset, the recorded ones;
    the same ones, fine; others, refused (the callback's saved state was made under them). A callback this session
    adds (or adds back) takes the options given now; a callback it drops takes its options with it."""
    from ..registry.catalog import get_callback_spec

    kept = set(saved.get("callbacks") or ())
    using = request.callbacks if request.callbacks is not None else tuple(saved.get("callbacks") or ())
    recorded = dict(theirs or {})
    merged: dict[str, dict[str, Any]] = {}
    for name in using:
        given = (mine or {}).get(name)
        if name not in kept:
            if given:
                merged[name] = dict(given)
            continue
        before = dict(recorded.get(name) or {})
        if given:
            typed = coerce_callback_options(get_callback_spec(name), given)
            if jsonable(typed) != jsonable(before):
                spelled = ", ".join(f"{k}={v}" for k, v in before.items()) or "none"
                raise ConfigError(
                    f"{out} holds a run whose callback {name!r} has options {spelled}, not "
                    f"{', '.join(f'{k}={v}' for k, v in typed.items())}; resume without --callback-option {name}.* "
                    "(or with the same values), or drop the callback for a session to start it afresh"
                )
        if before:
            merged[name] = before
    unused = sorted(set(mine or {}) - set(using))
    if unused:  # resolve() says so in full; here the record is only not carried over
        merged.update({name: dict((mine or {})[name]) for name in unused})
    return merged


_SAME: dict[str, Callable[..., Any]] = {
    "options": _same_options("options"),
    "callback_options": _same_callback_options,
    "loss_options": _same_options("loss_options"),
    "schedule": _same_schedules,
}
"""Fixed settings whose spellings differ while meaning one value: they are compared as what they mean."""


def _keep(option: TrainOption, mine: Any, theirs: Any, out: Path) -> Any:
    """A fixed setting: the checkpoint's when the request left it at its default, else the same or an error."""
    if mine == option.default or theirs is None:
        return mine if theirs is None else restored(option, theirs)
    if mine != theirs:
        raise ConfigError(
            f"{out} holds a {option.name} {theirs!r} run, not {mine!r}; resume it unchanged or choose another --out"
        )
    return mine


def _inherit(merged: TrainConfig, saved: Mapping[str, Any], out: Path) -> None:
    """``inherit`` settings: the checkpoint's where the request left them unset (the couplings spelled out)."""
    for option in config_fields():
        if option.resume != "inherit" or option.name in _COUPLED:
            continue
        if getattr(merged, option.name) is None and saved.get(option.name) is not None:
            setattr(merged, option.name, restored(option, saved[option.name]))
    if merged.steps is None and merged.epochs is None:  # the length is one setting spelled two ways
        merged.steps = saved.get("steps")
        merged.epochs = saved.get("epochs") if merged.steps is None else None
    if merged.callbacks is None:  # side jobs may change on resume; unset, the run keeps its own
        merged.callbacks = tuple(saved.get("callbacks") or ())
    if merged.tensorboard is None and saved.get("tensorboard"):  # the curves go on where they were
        merged.tensorboard = FolderGuard(out, what="run folder").recorded(
            str(saved["tensorboard"]), source=f"the checkpoint of {out}",
            fix="resume with --tensorboard (events in OUT/tb) or --tensorboard-dir DIR",
        )
    if merged.data_dir is None and saved.get("data_dir") is not None:  # the folder the run was trained on
        merged.data_dir = _recorded_folder(saved["data_dir"], out)
    if merged.compile is None:  # compiling changes the rounding only; unset, the run keeps its own, and its mode
        merged.compile = bool(saved.get("compile", False))
        merged.compile_mode = merged.compile_mode or (saved.get("compile_mode") if merged.compile else None)


_COUPLED = frozenset({"steps", "epochs", "callbacks", "tensorboard", "compile", "compile_mode", "data_dir"})
"""``inherit`` settings :func:`_inherit` treats together or specially (paths from the checkpoint)."""
MAX_PATH_CHARS = 4096
"""Longer than any path a file system takes (Linux: 4096 bytes): a recorded path beyond it is not one."""


def _recorded_folder(value: Any, out: Path) -> Path:
    """The data folder a checkpoint recorded, checked as the untrusted text it is. It is only read from, as
    ``--data`` is: the dataset loader refuses it in one line when it is gone or holds no data."""
    if not isinstance(value, str) or not value or len(value) > MAX_PATH_CHARS or "\0" in value:
        raise ConfigError(f"the checkpoint of {out} records a data folder that is not a path; resume with --data DIR")
    return Path(value)


def check_resume_compatible(request: TrainConfig, saved: Mapping[str, Any], out: Path) -> TrainConfig:
    """The request to resume with: unset fields from the checkpoint; a changed fixed setting is an error."""
    if request.init_from is not None:
        raise ConfigError(
            f"--init-from starts a new run from pretrained weights, and --resume continues {out} from its "
            "checkpoint, which holds its own: drop --init-from (the run keeps the record of where it started), "
            "or drop --resume and choose a new --out to fine-tune"
        )
    merged = dataclasses.replace(request)
    for option in config_fields():
        if option.resume != "fixed":
            continue
        mine = getattr(request, option.name)
        theirs = saved.get(option.name, option.before)  # a run from before a setting existed did without it
        same = _SAME.get(option.name)
        value = same(mine, theirs, request, saved, out) if same is not None else _keep(option, mine, theirs, out)
        setattr(merged, option.name, value)
    _inherit(merged, saved, out)
    return merged
