"""Sample pictures as PNG files: image grids and 2-D scatter plots, with PIL and numpy only.

``ganzoo sample`` must start fast, so this module never imports torch or torchvision:
tensors are accepted by duck typing (anything with ``.detach().cpu().numpy()``) and
everything else goes through numpy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .files import write_atomic

__all__ = [
    "load_font",
    "make_grid",
    "save_grid",
    "save_image_atomic",
    "save_samples",
    "save_scatter",
    "to_numpy",
]

REAL_COLOUR = (120, 144, 176)
FAKE_COLOUR = (230, 97, 1)


def to_numpy(values: Any) -> np.ndarray:
    """A float32 numpy copy of a tensor, array or nested sequence."""
    if hasattr(values, "detach"):
        values = values.detach().float().cpu().numpy()
    return np.asarray(values, dtype=np.float32)


def make_grid(images: Any, nrow: int = 8, padding: int = 2, pad_value: int = 0) -> np.ndarray:
    """Tile ``(N, C, H, W)`` images in ``[-1, 1]`` into one ``(H', W', C)`` uint8 array.

    ``nrow`` is the number of images per row (torchvision's meaning). One-channel images
    stay one channel; anything other than 1 or 3 channels shows its first channel.
    """
    array = to_numpy(images)
    if array.ndim == 3:  # (N, H, W): one channel
        array = array[:, None]
    if array.ndim != 4:
        raise ValueError(f"make_grid needs (N, C, H, W) images, got shape {array.shape}")
    count, channels, height, width = array.shape
    if channels not in (1, 3):
        array = array[:, :1]
        channels = 1
    if count == 0:
        raise ValueError("make_grid needs at least one image")
    pixels = np.clip((array + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    columns = max(1, min(nrow, count))
    rows = math.ceil(count / columns)
    grid = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        pad_value,
        dtype=np.uint8,
    )
    for index in range(count):
        row, column = divmod(index, columns)
        top = padding + row * (height + padding)
        left = padding + column * (width + padding)
        grid[top : top + height, left : left + width] = pixels[index].transpose(1, 2, 0)
    return grid


def _grid_image(grid: np.ndarray) -> Image.Image:
    if grid.shape[2] == 1:
        return Image.fromarray(grid[:, :, 0], mode="L")
    return Image.fromarray(grid, mode="RGB")


def save_image_atomic(image: Image.Image, path: str | os.PathLike[str]) -> Path:
    """Write ``image`` as PNG through :func:`ganzoo.files.write_atomic`, so a reader never sees half a file."""
    return write_atomic(path, lambda file: image.save(file, format="PNG"))


def save_grid(
    images: Any, path: str | os.PathLike[str], nrow: int = 8, padding: int = 2, scale: int = 1
) -> Path:
    """Save ``(N, C, H, W)`` images in ``[-1, 1]`` as one PNG grid; ``scale`` enlarges small images."""
    image = _grid_image(make_grid(images, nrow=nrow, padding=padding))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return save_image_atomic(image, path)


def load_font(size: int = 12) -> ImageFont.ImageFont:
    """PIL's built-in font at ``size`` points (scalable since Pillow 10.1; bitmap before)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _extent(points: Sequence[np.ndarray]) -> tuple[float, float, float, float]:
    stacked = np.concatenate([p for p in points if len(p)], axis=0)
    finite = stacked[np.isfinite(stacked).all(axis=1)]
    if len(finite) == 0:
        return -1.0, 1.0, -1.0, 1.0
    low = finite.min(axis=0)
    high = finite.max(axis=0)
    centre = (low + high) / 2
    half = max(float((high - low).max()) / 2, 1e-3) * 1.1
    return centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half


def save_scatter(
    fake: Any,
    path: str | os.PathLike[str],
    real: Any | None = None,
    *,
    size: int = 480,
    title: str = "",
    extent: tuple[float, float, float, float] | None = None,
) -> Path:
    """Scatter generated 2-D points (orange) over real ones (grey-blue): the sample grid of point data.

    The view is square and fixed by the real points when given, so successive pictures of
    one run are comparable and points the generator throws far away are visibly off-target.
    """
    fake_points = to_numpy(fake).reshape(len(fake), -1)[:, :2]
    real_points = to_numpy(real).reshape(len(real), -1)[:, :2] if real is not None else np.zeros((0, 2))
    if extent is None:
        extent = _extent([real_points] if len(real_points) else [fake_points])
    x0, x1, y0, y1 = extent
    margin, top = 36, 28
    image = Image.new("RGB", (size + 2 * margin, size + top + margin), "white")
    draw = ImageDraw.Draw(image)
    font = load_font(12)

    def to_pixel(points: np.ndarray) -> np.ndarray:
        px = margin + (points[:, 0] - x0) / (x1 - x0) * size
        py = top + (1 - (points[:, 1] - y0) / (y1 - y0)) * size
        return np.stack([px, py], axis=1)

    draw.rectangle([margin, top, margin + size, top + size], outline=(0, 0, 0))
    for points, colour, radius in ((real_points, REAL_COLOUR, 2), (fake_points, FAKE_COLOUR, 2)):
        finite = points[np.isfinite(points).all(axis=1)]
        for px, py in to_pixel(finite):
            if margin <= px <= margin + size and top <= py <= top + size:
                draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=colour)
    for value, label in ((x0, f"{x0:.2f}"), (x1, f"{x1:.2f}")):
        px = margin + (value - x0) / (x1 - x0) * size
        draw.text((px, top + size + 4), label, fill=(0, 0, 0), font=font, anchor="ma")
    for value, label in ((y0, f"{y0:.2f}"), (y1, f"{y1:.2f}")):
        py = top + (1 - (value - y0) / (y1 - y0)) * size
        draw.text((margin - 4, py), label, fill=(0, 0, 0), font=font, anchor="rm")
    if title:
        draw.text((margin, 6), title, fill=(0, 0, 0), font=font)
    legend_x = margin + size - 150
    for row, (name, colour) in enumerate((("real", REAL_COLOUR), ("generated", FAKE_COLOUR))):
        if name == "real" and not len(real_points):
            continue
        x = legend_x + row * 60
        draw.ellipse([x, 9, x + 8, 17], fill=colour)
        draw.text((x + 12, 6), name, fill=(0, 0, 0), font=font)
    return save_image_atomic(image, path)


def save_samples(
    samples: Any,
    path: str | os.PathLike[str],
    *,
    real: Any | None = None,
    nrow: int = 8,
    title: str = "",
) -> Path:
    """Save what a generator produced in the form that shows it: a grid for images, a scatter for points."""
    shape = tuple(getattr(samples, "shape", np.shape(samples)))
    if len(shape) in (3, 4):
        return save_grid(samples, path, nrow=nrow, scale=2 if shape[-1] < 48 else 1)
    if len(shape) == 2 and shape[1] >= 2:
        return save_scatter(samples, path, real=real, title=title)
    raise ValueError(f"cannot draw samples of shape {shape[1:]}: expected images (C, H, W) or points (2,)")
