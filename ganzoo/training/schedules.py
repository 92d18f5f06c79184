"""Schedules: a training setting that moves from one value to another over a number of images.

R3GAN (Huang et al., NeurIPS 2024, ``training_loop.py``) decays the learning rate, R1/R2's gamma, Adam's
beta2 and the EMA half-life, and raises the augmentation probability, along cosine curves counted in images
seen; that is what this module gives any run, for any model: ``--schedule lr=2e-4:5e-5:2000000:cosine``
(``NAME=START:END:IMAGES[:SHAPE]``, the shape ``linear`` or ``cosine``, default cosine). A setting holds
``END`` once ``IMAGES`` images have been seen.

A value is a pure function of the images seen, applied before every step (:class:`ApplySchedules`, one
of the built-in callbacks), so a resumed run takes the value an uninterrupted run would: exact resume
needs nothing stored but the schedules themselves, which a run keeps for its whole life like its other
training practices (:mod:`.practices`: recorded in the checkpoint, config.json and the card).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

Run = Any
"""A :class:`ganzoo.training.run.Run` (named, not imported: the run holds the practices that hold the schedules)."""

__all__ = ["MAX_SCHEDULE_IMAGES", "SCHEDULABLE", "SHAPES", "Schedule", "apply_schedules", "parse_schedules"]

SHAPES = ("cosine", "linear")
MAX_SCHEDULE_IMAGES = 10**12
"""A bound on IMAGES: far beyond any run, small enough that every value stays an exact float."""

SCHEDULABLE: dict[str, tuple[str, float, float, bool, str]] = {
    # name: (meaning, lowest, highest, highest included, the request field whose value the schedule replaces)
    "lr": ("the learning rate of both Adam optimizers", 0.0, 1.0, True, "lr"),
    "beta2": ("Adam's beta2 of both optimizers", 0.0, 1.0, False, "betas"),
    "r1_gamma": ("R1's gamma (the run needs --r1-gamma > 0)", 0.0, 1e6, True, "r1_gamma"),
    "r2_gamma": ("R2's gamma (the run needs --r2-gamma > 0)", 0.0, 1e6, True, "r2_gamma"),
    "ema": ("the generator EMA's half-life in images (the run needs --ema > 0)", 0.0, 1e12, True, "ema"),
    "augment_p": ("the probability of each augmentation (the run needs --augment fixed)", 0.0, 1.0, True,
                  "augment_p"),
}
"""What a schedule can move, with the range its values must lie in and the option it overrides at every step."""


@dataclass(frozen=True)
class Schedule:
    """``name`` goes from ``start`` to ``end`` over the first ``images`` images, along ``shape``."""

    name: str
    start: float
    end: float
    images: int
    shape: str = "cosine"

    def value_at(self, images_seen: int) -> float:
        """The value for the step that follows ``images_seen`` images."""
        progress = min(max(images_seen, 0) / self.images, 1.0)
        if self.shape == "cosine":
            progress = 0.5 * (1.0 - math.cos(math.pi * progress))
        return self.start + (self.end - self.start) * progress

    @property
    def replaces(self) -> str:
        """The request field (``TrainConfig``) whose value this schedule sets anew at every step."""
        return SCHEDULABLE[self.name][4]

    def spelling(self) -> str:
        """The ``--schedule`` argument that asks for this schedule (recorded, and compared on resume)."""
        return f"{self.name}={self.start!r}:{self.end!r}:{self.images}:{self.shape}"

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _number(text: str, what: str, spelling: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(f"--schedule {spelling}: {what} must be a number, got {text!r}")
    return value


def parse_schedule(spelling: str) -> Schedule:
    """``NAME=START:END:IMAGES[:SHAPE]`` checked: a known name, values in its range, a positive image count."""
    text = str(spelling).strip()
    name, _, rest = text.partition("=")
    name = name.strip().replace("-", "_")
    if name not in SCHEDULABLE:
        raise ConfigError(f"--schedule {text[:80]!r}: cannot schedule {name!r}; choose one of "
                          f"{', '.join(SCHEDULABLE)}, written NAME=START:END:IMAGES[:cosine|linear]")
    parts = [p.strip() for p in rest.split(":")]
    if len(parts) not in (3, 4):
        raise ConfigError(f"--schedule {text[:80]!r}: write {name}=START:END:IMAGES[:cosine|linear], "
                          f"e.g. {name}=2e-4:5e-5:2000000:cosine")
    start, end = (_number(p, w, text) for p, w in zip(parts[:2], ("START", "END"), strict=True))
    images = _number(parts[2], "IMAGES", text)
    if not (images.is_integer() and 1 <= images <= MAX_SCHEDULE_IMAGES):
        raise ConfigError(f"--schedule {text}: IMAGES must be a whole number from 1 to {MAX_SCHEDULE_IMAGES:g}, "
                          f"got {parts[2]!r}")
    shape = parts[3].lower() if len(parts) == 4 else "cosine"
    if shape not in SHAPES:
        raise ConfigError(f"--schedule {text}: the shape must be cosine or linear, got {parts[3]!r}")
    meaning, low, high, high_included, _ = SCHEDULABLE[name]
    for value in (start, end):
        if not (low <= value and (value <= high if high_included else value < high)):
            bracket = "]" if high_included else ")"
            raise ConfigError(f"--schedule {text}: {name} is {meaning}, a value in [{low:g}, {high:g}{bracket}; "
                              f"got {value:g}")
    if name == "lr" and min(start, end) <= 0:
        raise ConfigError(f"--schedule {text}: the learning rate must stay above 0")
    return Schedule(name, start, end, int(images), shape)


def parse_schedules(spellings: Iterable[str] | None) -> tuple[Schedule, ...]:
    """Each ``--schedule`` checked, each name at most once, in a fixed order (so records compare equal)."""
    schedules: dict[str, Schedule] = {}
    for spelling in spellings or ():
        schedule = parse_schedule(spelling)
        if schedule.name in schedules:
            raise ConfigError(f"--schedule {schedule.name} is given twice; give each setting one schedule")
        schedules[schedule.name] = schedule
    return tuple(schedules[name] for name in SCHEDULABLE if name in schedules)


def check_schedules_apply(schedules: tuple[Schedule, ...], *, ema_half_life: float, r1_gamma: float,
                          r2_gamma: float, augment: str = "none") -> None:
    """A schedule of a practice the run does not use would be silently ignored: refuse it instead."""
    needs = {"ema": ("--ema > 0", ema_half_life > 0), "r1_gamma": ("--r1-gamma > 0", r1_gamma > 0),
             "r2_gamma": ("--r2-gamma > 0", r2_gamma > 0), "augment_p": ("--augment fixed", augment == "fixed")}
    for schedule in schedules:
        if schedule.name in needs and not needs[schedule.name][1]:
            flag = needs[schedule.name][0]
            raise ConfigError(f"--schedule {schedule.name}=... moves a setting this run does not use; give {flag} "
                              "as well (the schedule then sets its value at every step)")


def apply_schedules(run: Run) -> None:
    """Set every scheduled value for the step that follows ``run``'s images seen."""
    schedules = run.practices.schedules
    if not schedules:
        return
    step = run.train_step
    seen = run.counters.images_seen
    for schedule in schedules:
        value = schedule.value_at(seen)
        if schedule.name in ("lr", "beta2"):
            for update in (step.g_update, step.d_update):
                for group in update.optimizer.param_groups:
                    if schedule.name == "lr":
                        group["lr"] = value
                    else:
                        group["betas"] = (group["betas"][0], value)
        elif schedule.name in ("r1_gamma", "r2_gamma") and step.regularizer is not None:
            step.regularizer = dataclasses.replace(step.regularizer, **{schedule.name: value})
        elif schedule.name == "ema" and step.ema is not None:
            step.ema.half_life = value
        elif schedule.name == "augment_p" and step.augment is not None:
            step.augment.p.fill_(value)
