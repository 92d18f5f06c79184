"""Animated GIFs with Pillow only: the training progress (``samples/progress.gif``) and latent walks.

One writer for every animation ganzoo makes, so each one plays the same way everywhere: it
loops forever, it lasts at most :data:`MAX_SECONDS`, and no frame is shorter than
:data:`MIN_FRAME_MS`, because browsers show a GIF delay under 20 ms as 100 ms (a "fast"
animation would crawl). Longer sequences keep evenly spaced frames, the first and the last
always among them. The file is written through :func:`ganzoo.io.files.write_atomic`, so a
viewer that reloads it while training runs never sees half an animation.

Like :mod:`ganzoo.io.imaging`, this module never imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from .files import write_atomic
from .imaging import GridCanvas, load_font, to_numpy

__all__ = [
    "MAX_SECONDS",
    "MIN_FRAME_MS",
    "caption",
    "fit_width",
    "frame_durations",
    "grid_frame",
    "load_frame",
    "paletted",
    "pick_frames",
    "save_gif",
]

MAX_SECONDS = 10.0
"""The longest an animation plays before it loops."""
MIN_FRAME_MS = 20
"""The shortest frame browsers honour (GIF delays are centiseconds; 0 or 10 ms are shown as 100 ms)."""
MAX_FRAME_MS = 500
"""The longest frame: a few frames still animate instead of showing slides."""
HOLD_LAST_MS = 1000
"""How long the last frame (the end of training) stays before the animation starts again."""


def pick_frames(
    count: int, *, seconds: float = MAX_SECONDS, hold_last: bool = False, most: int | None = None
) -> list[int]:
    """The indices of ``count`` frames that fit in ``seconds`` at :data:`MIN_FRAME_MS` or more per frame (and
    are at most ``most``): all of them, or evenly spaced ones with the first and the last."""
    budget = seconds * 1000 - (HOLD_LAST_MS if hold_last and count > 1 else 0)
    limit = max(2, int(budget // MIN_FRAME_MS) + (1 if hold_last else 0))
    if most is not None:
        limit = max(2, min(limit, most))
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def frame_durations(
    count: int, *, seconds: float = MAX_SECONDS, hold_last: bool = False, longest: int = MAX_FRAME_MS
) -> list[int]:
    """Milliseconds per frame (multiples of 10, as GIF stores them) for ``count`` frames in at most ``seconds``,
    none longer than ``longest``; ``hold_last`` shows the last frame :data:`HOLD_LAST_MS` long."""
    if count <= 0:
        return []
    held = hold_last and count > 1
    moving = count - 1 if held else count
    budget = seconds * 1000 - (HOLD_LAST_MS if held else 0)
    each = int(budget // moving) // 10 * 10
    each = max(MIN_FRAME_MS, min(longest, each))
    return [each] * moving + ([HOLD_LAST_MS] if held else [])


def caption(image: Image.Image, text: str) -> Image.Image:
    """``image`` with ``text`` in a white band above it (grey or RGB, as ``image`` is)."""
    mode = "L" if image.mode in ("1", "L", "LA") else "RGB"
    image = image.convert(mode)
    size = max(10, min(24, image.width // 20))
    font = load_font(size)
    band = size + 8
    framed = Image.new(mode, (image.width, image.height + band), 255 if mode == "L" else (255, 255, 255))
    framed.paste(image, (0, band))
    ImageDraw.Draw(framed).text((4, 4), text, fill=0 if mode == "L" else (0, 0, 0), font=font)
    return framed


def grid_frame(images: Any, *, nrow: int, scale: int = 1) -> Image.Image:
    """One frame of ``(N, C, H, W)`` images in ``[-1, 1]`` tiled as :func:`ganzoo.io.imaging.make_grid` does, every
    pixel ``scale`` x ``scale``."""
    array = to_numpy(images)
    canvas = GridCanvas(len(array), array.shape[1:], nrow=nrow, scale=scale)
    canvas.add(array)
    return canvas.image()


def paletted(frame: Image.Image) -> Image.Image:
    """``frame`` as GIF stores it: grey stays grey (exact), colour gets its own 256-colour palette. A paletted
    frame is a quarter of the memory of an RGB one, so callers that keep frames keep these."""
    if frame.mode in ("L", "P"):
        return frame
    return frame.convert("RGB").quantize(colors=256)


def fit_width(frame: Image.Image, width: int) -> Image.Image:
    """``frame`` scaled down to at most ``width`` pixels wide (its aspect kept)."""
    if frame.width <= width:
        return frame
    return frame.resize((width, max(1, round(frame.height * width / frame.width))), Image.LANCZOS)


def _paletted(frame: Image.Image, size: tuple[int, int]) -> Image.Image:
    if frame.size != size:  # every frame of one animation has the first one's size
        frame = frame.resize(size, Image.BILINEAR)
    return paletted(frame)


def save_gif(
    frames: Sequence[Image.Image],
    path: str | os.PathLike[str],
    *,
    durations: int | Sequence[int],
    comment: str | None = None,
) -> Path:
    """Write ``frames`` as a GIF that loops forever, atomically; ``durations`` in ms (one, or one per frame).

    ``comment`` goes into the file's comment block (``Image.open(path).info["comment"]``): what the
    frames show, for a program to read back.
    """
    if not frames:
        raise ValueError("an animation needs at least one frame")
    size = frames[0].size
    prepared = [_paletted(frame, size) for frame in frames]
    if isinstance(durations, int):
        durations = [durations] * len(prepared)
    if len(durations) != len(prepared):
        raise ValueError(f"got {len(durations)} durations for {len(prepared)} frames")
    options: dict[str, Any] = {"save_all": True, "append_images": prepared[1:], "duration": list(durations),
                               "loop": 0}
    if comment:
        options["comment"] = comment.encode("utf-8")
    return write_atomic(path, lambda file: prepared[0].save(file, format="GIF", **options))


def load_frame(path: str | os.PathLike[str]) -> Image.Image:
    """A PNG as a loaded, closed-file image (grey stays grey; everything else becomes RGB)."""
    with Image.open(path) as opened:
        opened.load()
        return opened.convert("L" if opened.mode in ("1", "L", "LA", "I;16") else "RGB")
