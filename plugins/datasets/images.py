"""Image datasets (any image folder, CelebA) decoded once into a cached uint8 tensor.

A training epoch over a folder of JPEGs through ``ImageFolder`` + transforms decodes,
resizes and crops every image again each epoch, which on a small CPU costs more than the
GAN's own arithmetic. Here a folder is decoded once, in threads (PIL releases the GIL
while decoding and resizing), with JPEGs decoded directly at reduced scale
(``Image.draft``), resized so the shorter side is ``image_size`` and centre-cropped (what
``Resize(s)`` + ``CenterCrop(s)`` do), and stored as one ``(N, 3, S, S)`` uint8 tensor in a
safetensors file in ganzoo's data cache (``~/.cache/ganzoo/data-cache/image-folder/``, moved by
``GANZOO_DATA_CACHE_DIR``; ``ganzoo cache`` lists and clears it). The file's name hashes the folder, the
size and every image's path, byte size and modification time, so editing the folder
invalidates it; it is written to a temporary file and renamed, so an interrupted run
never leaves a half-written cache behind.

The licence of a folder's images travels with the folder: a ``LICENSE`` (or ``LICENCE``,
optionally ``.txt``/``.md``) file at its top names it on its first non-empty line, e.g.
``UTKFace: non-commercial research only`` or ``CC BY 4.0``; the ``SampleSet`` carries it
and model cards state it. Without one the licence is the spec's "unknown".
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganzoo.data import SampleSet
from ganzoo.errors import ConfigError, DataNotFoundError, MemoryLimitError
from ganzoo.plugin_api import (
    MAX_LICENSE_NAME,
    check_picture_size,
    data_cache_dir,
    data_dir,
    open_image,
    require_memory,
    write_cache,
)

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "IMAGE_EXTENSIONS",
    "LICENSE_FILES",
    "cache_path",
    "decode_images",
    "folder_license",
    "load_celeba",
    "load_image_folder",
]

DEFAULT_IMAGE_SIZE = 64
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
"""The extensions ``torchvision.datasets.ImageFolder`` accepts."""

CACHE_VERSION = 1
"""Part of every cache key: bump it when the decoding (resampling, cropping) changes."""

LICENSE_FILES = ("license", "license.txt", "license.md", "licence", "licence.txt", "licence.md")
"""Names (any case) of the file at the top of an image folder that names its images' licence."""



_FOLDER_HINT = "a folder with class sub-folders of images, e.g. DIR/faces/*.jpg"
_CELEBA_SPLITS = ("train", "valid", "test")


def _image_size(image_size: int | None) -> int:
    if image_size is None:
        return DEFAULT_IMAGE_SIZE
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size <= 0:
        raise ConfigError(f"image_size must be a positive integer, got {image_size!r}")
    return image_size


def _scan(folder: Path) -> list[Path]:
    """Image files under ``folder`` (any depth, sorted; hidden files and folders skipped).

    Only regular files are images: a named pipe called ``x.png`` would block the decoder for
    ever, and a socket or a device cannot be read as one; such entries are skipped with one
    warning naming the first. Symbolic links to folders are followed, but each real folder is
    read once: a link back up the tree (a loop) or a second link to the same folder would
    otherwise multiply the data. Sub-folders are visited in sorted order, so which of two names
    for one folder is kept does not depend on the file system's listing order.
    """
    found: list[Path] = []
    odd: list[Path] = []
    seen = {os.path.realpath(folder)}
    for directory, subdirs, files in os.walk(folder, followlinks=True):
        kept = []
        for name in sorted(d for d in subdirs if not d.startswith(".")):
            real = os.path.realpath(os.path.join(directory, name))
            if real not in seen:
                seen.add(real)
                kept.append(name)
        subdirs[:] = kept
        for name in files:
            if name.startswith(".") or not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            path = Path(directory, name)
            (found if path.is_file() else odd).append(path)  # is_file: a regular file (or a link to one)
    if odd:
        odd.sort()
        count = "1 entry" if len(odd) == 1 else f"{len(odd)} entries"
        warnings.warn(
            f"skipped {count} under {folder} that cannot be an image (not a regular file: a named pipe, a socket, "
            f"a device or a broken link), e.g. {odd[0]}",
            stacklevel=3,
        )
    return sorted(found)


def cache_path(kind: str, base: Path, files: Sequence[Path], image_size: int) -> Path:
    """Where the decoded tensor of ``files`` at ``image_size`` is cached.

    The key covers the folder's absolute path, the size, the cache version and each
    file's relative path, byte size and modification time (nanoseconds): adding,
    removing, replacing or touching an image gives a new key.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps([CACHE_VERSION, kind, str(base.resolve()), image_size]).encode())
    for path in files:
        stat = path.stat()
        digest.update(json.dumps([os.path.relpath(path, base), stat.st_size, stat.st_mtime_ns]).encode())
    return data_cache_dir() / kind / f"{digest.hexdigest()[:32]}.safetensors"


def _decode_one(path: Path, image_size: int) -> np.ndarray:
    with open_image(path) as image:  # a header that declares too many pixels is refused before decoding
        image.draft("RGB", (image_size, image_size))  # JPEG only: decode at 1/2, 1/4 or 1/8 scale
        image = image.convert("RGB")
        width, height = image.size
        side = min(width, height)
        if (width, height) != (image_size, image_size):
            left, top = (width - side) / 2, (height - side) / 2
            box = (left, top, left + side, top + side)
            image = image.resize((image_size, image_size), Image.Resampling.BICUBIC, box=box)
        return np.asarray(image)


def decode_images(
    paths: Sequence[Path], image_size: int, workers: int | None = None
) -> tuple[torch.Tensor, list[Path]]:
    """Decode ``paths`` to a uint8 ``(N, 3, S, S)`` tensor; also return the files that could not be read.

    The size is checked before anything is allocated: no larger than one picture may be, and the
    tensor within the memory available (``--image-size 20000`` would be 1.2 GB an image). An image
    whose header declares more pixels than one picture may have stops the decoding with a line
    naming it: it is a file to remove, not a corrupt one to skip.
    """
    check_picture_size(image_size, image_size, what=f"--image-size {image_size}", fix="choose a smaller --image-size")
    require_memory(
        len(paths) * image_size * image_size * 3,
        what=f"decoding {len(paths):,} images at {image_size}x{image_size} pixels (--image-size)",
        fix="choose a smaller --image-size",
    )
    out = np.empty((len(paths), image_size, image_size, 3), dtype=np.uint8)
    ok = np.zeros(len(paths), dtype=bool)
    refused: list[BaseException] = []

    def work(indices: range) -> None:
        for i in indices:
            if refused:  # another worker met an image that stops the decoding: say so at once
                return
            try:
                out[i] = _decode_one(paths[i], image_size)
                ok[i] = True
            except (OSError, ValueError, SyntaxError):  # PIL's errors for corrupt or truncated files
                pass
            except MemoryLimitError as error:
                refused.append(error)
                return

    chunk = 256
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        list(pool.map(work, [range(i, min(i + chunk, len(paths))) for i in range(0, len(paths), chunk)]))
    if refused:
        raise refused[0]
    failed = [paths[i] for i in np.flatnonzero(~ok)]
    images = torch.from_numpy(out[ok] if failed else out).permute(0, 3, 1, 2).contiguous()
    return images, failed


def _cached_images(kind: str, base: Path, files: Sequence[Path], image_size: int) -> torch.Tensor:
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    path = cache_path(kind, base, files, image_size)
    if path.is_file():
        try:
            return load_file(path)["images"]
        except (OSError, KeyError, SafetensorError):
            pass  # unreadable cache (truncated by a full disk, say): decode again
    images, failed = decode_images(files, image_size)
    if failed:
        warnings.warn(f"skipped {len(failed)} unreadable image(s) under {base}, e.g. {failed[0]}", stacklevel=3)
    if len(images) == 0:
        raise DataNotFoundError(f"none of the {len(files)} images under {base} could be read")
    metadata = {"source": str(base), "image_size": str(image_size), "count": str(len(images))}
    write_cache(path, lambda file: save_file({"images": images}, file.name, metadata=metadata),
                what="the image cache", size=images.numel(), announce=f"the {len(images):,} decoded images")
    return images


def folder_license(folder: Path) -> str:
    """The licence named on the first non-empty line of ``folder``'s licence file; ``""`` when it has none.

    A licence file that cannot serve (two of them, unreadable, empty, or a first line that
    is a paragraph rather than a name) is a one-line error, not an unstated licence.
    """
    found = sorted(e.name for e in os.scandir(folder) if e.name.lower() in LICENSE_FILES and e.is_file())
    if not found:
        return ""
    if len(found) > 1:
        raise ConfigError(f"{folder} has {' and '.join(found)}: keep one file naming the images' licence")
    path = folder / found[0]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the licence file {path} ({error}); it must be UTF-8 text") from None
    first = next((line.strip().lstrip("#").strip() for line in text.splitlines() if line.strip()), "")
    if not first:
        raise ConfigError(f"{path} is empty: write the images' licence on its first line, e.g. 'CC BY 4.0'")
    if len(first) > MAX_LICENSE_NAME:
        raise ConfigError(
            f"the first line of {path} has {len(first)} characters: make it the licence's name "
            "(e.g. 'CC BY 4.0'); the full text may follow on later lines"
        )
    return first


def load_image_folder(
    root: str | os.PathLike[str] | None = None, split: str = "train", image_size: int | None = DEFAULT_IMAGE_SIZE
) -> SampleSet:
    """Every image under ``root`` as uint8 ``(N, 3, S, S)``, unlabelled.

    The ``ImageFolder`` layout (one sub-folder per class) is expected, but images at any
    depth are taken, and the class folders are ignored: a GAN here learns the images. A
    licence file at the top of ``root`` (:data:`LICENSE_FILES`) names their licence.
    """
    if split != "train":
        raise ConfigError(f"dataset 'image-folder' has no split {split!r}; it has only 'train'")
    size = _image_size(image_size)
    if root is None:
        raise DataNotFoundError(f"image-folder needs --data DIR: {_FOLDER_HINT}")
    folder = data_dir(root).resolve()  # a file given as --data is refused there, as a file
    if not folder.is_dir():
        raise DataNotFoundError(f"image folder {folder} does not exist: pass --data DIR, {_FOLDER_HINT}")
    files = _scan(folder)
    if not files:
        extensions = ", ".join(IMAGE_EXTENSIONS)
        raise DataNotFoundError(f"no images ({extensions}) under {folder}: pass --data DIR, {_FOLDER_HINT}")
    licence = folder_license(folder)
    images = _cached_images("image-folder", folder, files, size)
    return SampleSet(images, None, name="image-folder", license=licence)


def load_celeba(
    root: str | os.PathLike[str] | None = None,
    split: str = "train",
    download: bool = False,
    image_size: int | None = DEFAULT_IMAGE_SIZE,
) -> SampleSet:
    """CelebA's aligned faces of ``split`` as uint8 ``(N, 3, S, S)``, unlabelled.

    torchvision's ``CelebA`` class checks (and downloads) the files and reads the official
    split; its images are then decoded and cached like an image folder.
    """
    if split not in _CELEBA_SPLITS:
        raise ConfigError(f"dataset 'celeba' has no split {split!r}; choose one of {', '.join(_CELEBA_SPLITS)}")
    size = _image_size(image_size)
    base = (data_dir(root) if root else data_dir()).resolve()
    folder = base / "celeba"

    from torchvision import datasets

    try:
        dataset = datasets.CelebA(str(base), split=split, target_type=[], download=download)
    except (RuntimeError, OSError, ImportError) as error:
        if download:
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            cause = lines[-1] if lines else type(error).__name__
            raise DataNotFoundError(
                f"could not download CelebA into {folder} ({cause}): put the files there by hand"
            ) from None
        raise DataNotFoundError(
            f"CelebA not found under {base}: put img_align_celeba/ and the list_*.txt and identity_CelebA.txt "
            f"files in {folder}/ or pass --download (needs internet and gdown)"
        ) from None
    image_folder = folder / "img_align_celeba"
    files = [image_folder / name for name in dataset.filename]
    missing = next((f for f in files if not f.is_file()), None)
    if missing is not None:
        raise DataNotFoundError(f"CelebA image {missing} is missing: unpack img_align_celeba.zip in {folder}/")
    images = _cached_images("celeba", image_folder, files, size)
    return SampleSet(images, None, name="celeba")
