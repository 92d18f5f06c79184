"""The model card's rows for a run's training practices: generator EMA, D's augmentation, R1/R2, schedules.

Read from the ``training`` section that ``ganzoo train`` writes (``ganzoo.training.practices``), so a
card states exactly what trained its weights; a run that used none of them gets no rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["practice_rows"]


def practice_rows(training: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The EMA, augmentation and R1/R2 a run used (``ganzoo train --ema/--augment/--r1-gamma``)."""
    ema, augment, penalty = training.get("ema"), training.get("augment") or {}, training.get("gradient_penalty")
    rows: list[tuple[str, Any]] = []
    if ema:
        rows.append(("generator EMA", f"half-life {ema['half_life_images']:,.0f} images, ramp-up {ema['rampup']:g} "
                     "(the shipped generator is the average)"))
    if augment.get("kind", "none") != "none":
        text = f"{augment['kind']}: {', '.join(augment.get('operations', []))}"
        if augment["kind"] == "ada":
            text += f" (target {augment['target']:g}, p crosses [0, 1] in {augment['speed_images']:,.0f} images)"
        rows.append(("D augmentation", text))
    if penalty:
        weights = (("R1", penalty["r1_gamma"]), ("R2", penalty["r2_gamma"]))
        parts = [f"{name} gamma {gamma:g}" for name, gamma in weights if gamma]
        every = penalty.get("every", 1)
        rows.append(("gradient penalty", ", ".join(parts) + (f", every {every} steps (lazy)" if every > 1 else "")))
    for schedule in training.get("schedules") or ():
        rows.append((f"schedule of {schedule['name']}", f"{schedule['start']:g} to {schedule['end']:g} over "
                     f"{schedule['images']:,} images ({schedule['shape']}), then held"))
    return rows
