"""Training curves as a PNG, drawn with PIL: ganzoo does not depend on matplotlib.

Two panels share the step axis: the two players' losses, and D(x) / D(G(z)) (the mean
probability D gives real and generated batches), the classic picture of a GAN's health.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from ...io.imaging import load_font, save_image_atomic

__all__ = ["nice_ticks", "plot_curves"]

BLUE = (31, 119, 180)
ORANGE = (255, 127, 14)
GREEN = (44, 160, 44)
RED = (214, 39, 40)
GRID = (225, 225, 225)
INK = (30, 30, 30)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]`` (1, 2 or 5 times a power of ten apart)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 10))
        value += step
    return ticks


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.0e}"
    return f"{value:g}"


def _panel(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    steps: Sequence[float],
    series: Sequence[tuple[str, Sequence[float], tuple[int, int, int]]],
    title: str,
    y_range: tuple[float, float] | None,
    x_range: tuple[float, float],
) -> None:
    font = load_font(13)
    small = load_font(11)
    left, top, right, bottom = box
    finite = [v for _, values, _ in series for v in values if math.isfinite(v)]
    if y_range is None:
        low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
        pad = (high - low) * 0.05 or 0.5
        y_range = (low - pad, high + pad)
    y0, y1 = y_range
    x0, x1 = x_range
    if x1 <= x0:
        x1 = x0 + 1

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (right - left)

    def py(y: float) -> float:
        return bottom - (y - y0) / (y1 - y0) * (bottom - top)

    for tick in nice_ticks(y0, y1):
        draw.line([left, py(tick), right, py(tick)], fill=GRID)
        draw.text((left - 6, py(tick)), _label(tick), fill=INK, font=small, anchor="rm")
    for tick in nice_ticks(x0, x1, 6):
        draw.line([px(tick), top, px(tick), bottom], fill=GRID)
        draw.text((px(tick), bottom + 5), _label(tick), fill=INK, font=small, anchor="ma")
    draw.rectangle([left, top, right, bottom], outline=INK)
    draw.text((left, top - 20), title, fill=INK, font=font)
    for _name, values, colour in series:
        points = [
            (px(s), py(min(max(v, y0), y1))) for s, v in zip(steps, values, strict=True) if math.isfinite(v)
        ]
        if len(points) == 1:
            x, y = points[0]
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        elif points:
            draw.line(points, fill=colour, width=2)
    legend_x = right - 10
    for name, _, colour in reversed(series):
        width = draw.textlength(name, font=small)
        legend_x -= width + 28
        draw.line([legend_x, top - 12, legend_x + 16, top - 12], fill=colour, width=3)
        draw.text((legend_x + 20, top - 12), name, fill=INK, font=small, anchor="lm")
    draw.text(((left + right) / 2, bottom + 20), "step", fill=INK, font=small, anchor="ma")


def plot_curves(history: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write the loss and D-output curves of ``history`` (the ``log.jsonl`` records) to ``path``; a run with
    ``--eval-every`` gets a third panel, its FID (:mod:`.snapshot_metrics`)."""
    scored = [record for record in history if "fid" in record]
    history = [record for record in history if "fid" not in record]
    width, height = 900, 640 + (290 if scored else 0)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    steps = [float(record["step"]) for record in history]
    x_range = (0.0, max([*steps, *(float(record["step"]) for record in scored)], default=1.0))
    if scored:
        _panel(draw, (70, 660, width - 25, height - 50), [float(record["step"]) for record in scored],
               [("FID", [float(record["fid"]) for record in scored], BLUE)],
               f"FID of {scored[-1].get('eval_samples', '?')} samples (--eval-every)", None, x_range)

    def column(key: str) -> list[float]:
        return [float(record.get(key, float("nan"))) for record in history]

    _panel(
        draw,
        (70, 40, width - 25, 280),
        steps,
        [("loss D", column("loss_d"), BLUE), ("loss G", column("loss_g"), ORANGE)],
        "losses",
        None,
        x_range,
    )
    _panel(
        draw,
        (70, 370, width - 25, 590),
        steps,
        [("D(x)", column("d_real"), GREEN), ("D(G(z))", column("d_fake"), RED)],
        "discriminator outputs (mean sigmoid)",
        (0.0, 1.0),
        x_range,
    )
    return save_image_atomic(image, path)
