"""The training practices a run uses beyond the classic recipe: generator EMA, D's augmentation, R1/R2.

One place turns the request's fields into checked settings; :meth:`Practices.run_record` gives the run's
values of those options, from which the option table (:mod:`.optiontable`) derives what a run records of
them (the checkpoint's run record, config.json, the card, the equivalent command) and what a run from
before they existed did without them (so resuming an old checkpoint keeps its meaning).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError
from ..schedules import Schedule, check_schedules_apply, parse_schedules
from .augment import AugmentPolicy, parse_augment
from .ema import DEFAULT_EMA_HALF_LIFE, DEFAULT_EMA_RAMPUP
from .regularize import GradientPenalty

__all__ = ["Practices", "resolve_practices"]

@dataclass(frozen=True)
class Practices:
    """The checked settings: ``ema_half_life`` 0 means no EMA."""

    ema_half_life: float = 0.0
    ema_rampup: float = DEFAULT_EMA_RAMPUP
    augment: AugmentPolicy = field(default_factory=AugmentPolicy)
    penalty: GradientPenalty = field(default_factory=GradientPenalty)
    schedules: tuple[Schedule, ...] = ()
    """Settings that move over the run (:mod:`.schedules`); the fields above are their starting points."""

    def run_record(self) -> dict[str, Any]:
        """The values the checkpoint records, in the request's spelling (what a resumed run compares)."""
        return {
            "ema": self.ema_half_life,
            "ema_rampup": self.ema_rampup,
            "augment": self.augment.spelling(),
            "ada_target": self.augment.target if self.augment.adaptive else None,
            "ada_speed": self.augment.speed if self.augment.adaptive else None,
            "augment_p": self.augment.p if self.augment.kind == "fixed" else None,
            "r1_gamma": self.penalty.r1_gamma,
            "r2_gamma": self.penalty.r2_gamma,
            "reg_every": self.penalty.every,
            "schedule": [schedule.spelling() for schedule in self.schedules],
        }


def resolve_practices(request: Any, *, is_image: bool) -> Practices:
    """Check the request's practice fields; fill the defaults for data that is (or is not) images.

    The numbers are in their declared ranges already (a ``TrainConfig`` holds each field to
    ``TRAIN_RANGES`` when it is set); what is checked here is how the settings go together."""
    default_ema = DEFAULT_EMA_HALF_LIFE if is_image else 0.0
    half_life = float(default_ema if request.ema is None else request.ema)
    rampup = float(DEFAULT_EMA_RAMPUP if request.ema_rampup is None else request.ema_rampup)
    augment = parse_augment(request.augment, target=request.ada_target, speed=request.ada_speed,
                            p=request.augment_p)
    if augment.enabled and not is_image:
        raise ConfigError(f"--augment {augment.spelling()} works on images, and this dataset's samples are not "
                          "images; train without --augment")
    r1 = float(request.r1_gamma or 0.0)
    r2 = float(request.r2_gamma or 0.0)
    every = 1 if request.reg_every is None else int(request.reg_every)
    schedules = parse_schedules(request.schedule)
    check_schedules_apply(schedules, ema_half_life=half_life, r1_gamma=r1, r2_gamma=r2, augment=augment.kind)
    return Practices(half_life, rampup, augment, GradientPenalty(r1, r2, every), schedules)
