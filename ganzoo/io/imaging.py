"""Sample pictures as PNG files: image grids and 2-D scatter plots, with PIL and numpy only.

``ganzoo sample`` must start fast, so this module never imports torch or torchvision:
tensors are accepted by duck typing (anything with ``.detach().cpu().numpy()``) and
everything else goes through numpy.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from ..errors import ConfigError, MemoryLimitError
from .files import write_atomic

__all__ = [
    "GridCanvas",
    "check_picture_size",
    "grid_scale",
    "load_font",
    "make_grid",
    "open_image",
    "picture_format",
    "picture_pixel_limit",
    "picture_suffixes",
    "picture_text",
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


def picture_pixel_limit() -> int | None:
    """The most pixels one picture may have, read or written: twice Pillow's ``Image.MAX_IMAGE_PIXELS``
    (179 million by default), where Pillow itself refuses to open an image as a decompression bomb. A
    grid ganzoo writes stays within it, so ganzoo (and Pillow) can read it back. None: no limit (a
    program that set ``Image.MAX_IMAGE_PIXELS = None``)."""
    bound = Image.MAX_IMAGE_PIXELS
    return None if bound is None else 2 * int(bound)


def check_picture_size(width: int, height: int, *, what: str, fix: str) -> None:
    """Refuse a ``width`` x ``height`` picture over :func:`picture_pixel_limit`, naming ``what`` and the ``fix``."""
    limit = picture_pixel_limit()
    if limit is not None and width * height > limit:
        raise MemoryLimitError(
            f"{what} makes a picture of {width}x{height} pixels ({width * height / 1e6:,.1f} megapixels), over the "
            f"{limit / 1e6:,.1f}-megapixel limit of one picture: {fix}"
        )


@contextlib.contextmanager
def open_image(path: str | os.PathLike[str]) -> Iterator[Image.Image]:
    """``Image.open(path)``, lazily (only the header is read), refusing an image whose header declares more
    pixels than :func:`picture_pixel_limit` before a byte of it is decoded: a 5 KB PNG can declare
    20000x20000 pixels (a decompression bomb) and would take 1.6 GB to decode. Pillow checks the header
    against that very limit as it opens; the refusal becomes a :class:`~ganzoo.errors.MemoryLimitError`
    naming the file, where Pillow raises an exception that names neither the file nor a fix."""
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as error:
        numbers = [int(n) for n in re.findall(r"(\d+) pixels", str(error))]
        declared = f"declares {numbers[0]:,} pixels" if numbers else "declares too many pixels"
        raise MemoryLimitError(
            f"image {path} {declared}, more than the {picture_pixel_limit() or 0:,} of one picture ganzoo "
            "decodes (a decompression bomb?): remove it or shrink it"
        ) from None
    with image:
        yield image


def _displayed(array: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` (or ``(N, H, W)``) samples in ``[-1, 1]`` as uint8 ``(N, C', H, W)`` with 1 or 3 channels
    (any other channel count shows its first channel)."""
    if array.ndim == 3:  # (N, H, W): one channel
        array = array[:, None]
    if array.ndim != 4:
        raise ValueError(f"make_grid needs (N, C, H, W) images, got shape {array.shape}")
    if array.shape[1] not in (1, 3):
        array = array[:, :1]
    return np.clip((array + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


class GridCanvas:
    """One grid picture of ``count`` samples, filled batch by batch in order.

    A sample grid only ever needs the memory of the picture itself (one byte per pixel and
    channel): the samples can be drawn, tiled and dropped a batch at a time, so ``ganzoo
    sample -n 20000`` never holds twenty thousand float samples. :meth:`picture_bytes` is
    what the picture needs, for the memory check before anything is drawn. ``nrow`` is the
    number of images per row (torchvision's meaning); ``scale`` enlarges every pixel (and the
    padding) to ``scale`` x ``scale``, which is what resizing the whole grid with NEAREST does.
    """

    def __init__(
        self,
        count: int,
        sample_shape: Sequence[int],
        *,
        nrow: int = 8,
        padding: int = 2,
        scale: int = 1,
        pad_value: int = 0,
    ):
        if count < 1:
            raise ValueError("make_grid needs at least one image")
        if len(sample_shape) == 2:  # (H, W): one channel
            sample_shape = (1, *sample_shape)
        if len(sample_shape) != 3:
            raise ValueError(f"make_grid needs (N, C, H, W) images, got sample shape {tuple(sample_shape)}")
        channels, height, width = (int(s) for s in sample_shape)
        self.count = count
        self.channels = channels if channels in (1, 3) else 1
        self.scale = max(1, int(scale))
        self.cell = (height * self.scale, width * self.scale)
        self.padding = padding * self.scale
        self.pad_value = pad_value
        self.columns = max(1, min(nrow, count))
        self.rows = math.ceil(count / self.columns)
        self.height = self.rows * (self.cell[0] + self.padding) + self.padding
        self.width = self.columns * (self.cell[1] + self.padding) + self.padding
        self.filled = 0
        self._array: np.ndarray | None = None

    def picture_bytes(self) -> int:
        """The bytes of the picture: its pixels, and Pillow's copy for writing (4 bytes a pixel for RGB)."""
        return self.width * self.height * (self.channels + (4 if self.channels == 3 else 1))

    @property
    def array(self) -> np.ndarray:
        """The grid as ``(H, W, C)`` uint8 (allocated on first use)."""
        if self._array is None:
            self._array = np.full((self.height, self.width, self.channels), self.pad_value, dtype=np.uint8)
        return self._array

    def add(self, images: Any) -> None:
        """Tile the next ``len(images)`` samples ``(N, C, H, W)`` in ``[-1, 1]``."""
        pixels = _displayed(to_numpy(images))
        if self.filled + len(pixels) > self.count:
            raise ValueError(f"this grid holds {self.count} images; {self.filled + len(pixels)} were given")
        if self.scale > 1:
            pixels = pixels.repeat(self.scale, axis=2).repeat(self.scale, axis=3)
        grid, (height, width) = self.array, self.cell
        for index, cell in enumerate(pixels, start=self.filled):
            row, column = divmod(index, self.columns)
            top = self.padding + row * (height + self.padding)
            left = self.padding + column * (width + self.padding)
            grid[top : top + height, left : left + width] = cell.transpose(1, 2, 0)
        self.filled += len(pixels)

    def image(self) -> Image.Image:
        """The grid as a Pillow image (grey or RGB)."""
        return _grid_image(self.array)


def make_grid(images: Any, nrow: int = 8, padding: int = 2, pad_value: int = 0) -> np.ndarray:
    """Tile ``(N, C, H, W)`` images in ``[-1, 1]`` into one ``(H', W', C)`` uint8 array.

    ``nrow`` is the number of images per row (torchvision's meaning). One-channel images
    stay one channel; anything other than 1 or 3 channels shows its first channel.
    """
    array = to_numpy(images)
    if array.ndim not in (3, 4):
        raise ValueError(f"make_grid needs (N, C, H, W) images, got shape {array.shape}")
    canvas = GridCanvas(len(array), array.shape[1:], nrow=nrow, padding=padding, pad_value=pad_value)
    canvas.add(array)
    return canvas.array


def _grid_image(grid: np.ndarray) -> Image.Image:
    if grid.shape[2] == 1:
        return Image.fromarray(grid[:, :, 0], mode="L")
    return Image.fromarray(grid, mode="RGB")


def picture_suffixes() -> dict[str, str]:
    """The file names a picture may have, suffix -> Pillow format: what the name says is what is written."""
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}
    if features.check("webp"):
        formats[".webp"] = "WEBP"
    return formats


_SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}


def picture_format(path: str | os.PathLike[str]) -> str:
    """The Pillow format ``path``'s suffix names (``grid.jpg``: JPEG); a suffix that names none is refused."""
    suffix = Path(path).suffix.lower()
    formats = picture_suffixes()
    if suffix not in formats:
        raise ConfigError(
            f"cannot tell which picture format to write for {path}: name it with one of {', '.join(formats)}"
        )
    return formats[suffix]


def picture_text(image_format: str, text: Mapping[str, str]) -> dict[str, Any]:
    """Pillow save options that store ``text`` (key: value facts) in a picture of ``image_format``.

    A PNG keeps every pair as a ``tEXt`` chunk (``identify -verbose``, ``exiftool`` and
    ``PIL.Image.open(path).text`` show them); a JPEG or GIF keeps them as its one comment, a line
    each; other formats keep none.
    """
    if not text:
        return {}
    if image_format == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in text.items():
            info.add_text(key, value)
        return {"pnginfo": info}
    if image_format in ("JPEG", "GIF"):
        return {"comment": "\n".join(f"{key}: {value}" for key, value in text.items()).encode("utf-8")}
    return {}


def save_image_atomic(
    image: Image.Image, path: str | os.PathLike[str], *, text: Mapping[str, str] | None = None
) -> Path:
    """Write ``image`` in the format its name says (:func:`picture_format`: ``.png``, ``.jpg``, ...) through
    :func:`ganzoo.io.files.write_atomic`, so a reader never sees half a file; ``text`` is stored in it
    (:func:`picture_text`: how the picture was made, e.g. the seed that draws it again)."""
    kind = picture_format(path)
    options = {**_SAVE_OPTIONS.get(kind, {}), **picture_text(kind, text or {})}
    return write_atomic(path, lambda file: image.save(file, format=kind, **options))


def save_grid(
    images: Any, path: str | os.PathLike[str], nrow: int = 8, padding: int = 2, scale: int = 1
) -> Path:
    """Save ``(N, C, H, W)`` images in ``[-1, 1]`` as one grid picture; ``scale`` enlarges small images."""
    array = to_numpy(images)
    if array.ndim not in (3, 4):
        raise ValueError(f"make_grid needs (N, C, H, W) images, got shape {array.shape}")
    canvas = GridCanvas(len(array), array.shape[1:], nrow=nrow, padding=padding, scale=scale)
    canvas.add(array)
    return save_image_atomic(canvas.image(), path)


def grid_scale(sample_shape: Sequence[int]) -> int:
    """How much a sample grid enlarges its images: twice for small ones (under 48 pixels wide)."""
    return 2 if sample_shape[-1] < 48 else 1


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
    text: Mapping[str, str] | None = None,
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
    return save_image_atomic(image, path, text=text)


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
        return save_grid(samples, path, nrow=nrow, scale=grid_scale(shape))
    if len(shape) == 2 and shape[1] >= 2:
        return save_scatter(samples, path, real=real, title=title)
    raise ValueError(f"cannot draw samples of shape {shape[1:]}: expected images (C, H, W) or points (2,)")
