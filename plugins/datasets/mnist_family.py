"""MNIST, Fashion-MNIST and Kuzushiji-MNIST through torchvision's own dataset classes.

torchvision reads the IDX files (and downloads them, with its md5 checks) into one uint8
tensor per split; ganzoo takes that tensor as it is instead of iterating the dataset
image by image through PIL. Files live where torchvision looks for them:
``ROOT/<ClassName>/raw/`` (``ROOT/MNIST/raw/train-images-idx3-ubyte`` and so on).

Before torchvision reads them, the split's two files are checked against their own IDX
headers (magic number, element type, number of dimensions, sizes): an empty file, a labels
file in the images file's place or a file cut short is then one line naming the file and
what is wrong with it, instead of whatever torchvision's reader happens to raise.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

from ganzoo.data import SampleSet
from ganzoo.errors import ConfigError, CorruptDataError, DataNotFoundError
from ganzoo.plugin_api import data_dir

__all__ = ["TORCHVISION_CLASSES", "load_fashion_mnist", "load_kmnist", "load_mnist"]

TORCHVISION_CLASSES = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
"""ganzoo dataset name -> torchvision class, which is also the folder name under the root."""

SPLITS = ("train", "test")

_IDX_ITEM_SIZES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
"""IDX element type codes (unsigned byte, signed byte, short, int, float, double) and their sizes."""
_IDX_KINDS = {"images": 3, "labels": 1}
"""What each MNIST file holds: images are (N, 28, 28), labels (N,), both unsigned bytes."""


def _fix(path: Path) -> str:
    return f"delete it and pass --download to fetch it again, or replace it with a good copy of {path.name}"


def check_idx_file(path: Path, kind: str) -> int:
    """Check ``path`` (an MNIST ``images`` or ``labels`` file) against its IDX header; return its count.

    The header is two zero bytes, the element type, the number of dimensions, then each
    dimension as a big-endian 32-bit integer; the data that follows must be exactly as long
    as the dimensions say. Anything else is a :class:`~ganzoo.errors.CorruptDataError`.
    """
    found = path.stat().st_size
    if found == 0:
        raise CorruptDataError(f"{path} is empty (0 bytes): {_fix(path)}")
    with path.open("rb") as file:
        magic = file.read(4)
        if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in _IDX_ITEM_SIZES:
            raise CorruptDataError(f"{path} is not an IDX {kind} file (no IDX header at its start): {_fix(path)}")
        ndim = magic[3]
        expected_ndim = _IDX_KINDS[kind]
        if ndim != expected_ndim or magic[2] != 0x08:
            other = next((k for k, n in _IDX_KINDS.items() if n == ndim and k != kind), None)
            holds = f"an IDX {other} file" if other and magic[2] == 0x08 else f"a {ndim}-dimensional IDX array"
            raise CorruptDataError(
                f"{path} is not an IDX {kind} file: it holds {holds}"
                + (" (are the images and labels files swapped?)" if other else "")
                + f"; {_fix(path)}"
            )
        header = 4 + 4 * ndim
        dims_bytes = file.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise CorruptDataError(
            f"{path} is truncated: its IDX header alone needs {header} bytes, found {found}; {_fix(path)}"
        )
    dims = struct.unpack(f">{ndim}I", dims_bytes)
    expected = header + math.prod(dims) * _IDX_ITEM_SIZES[magic[2]]
    if found < expected:
        raise CorruptDataError(
            f"{path} is truncated: its header says {' x '.join(map(str, dims))} values, so expected {expected} bytes, "
            f"found {found}; {_fix(path)}"
        )
    if found > expected:
        raise CorruptDataError(
            f"{path} is longer than its IDX header says: expected {expected} bytes, found {found}; {_fix(path)}"
        )
    return dims[0]


def _check_split(raw: Path, split: str) -> None:
    """Check the split's images and labels files, when both are there (missing ones: torchvision's message)."""
    prefix = "train" if split == "train" else "t10k"
    images = raw / f"{prefix}-images-idx3-ubyte"
    labels = raw / f"{prefix}-labels-idx1-ubyte"
    if not (images.is_file() and labels.is_file()):
        return
    count_images = check_idx_file(images, "images")
    count_labels = check_idx_file(labels, "labels")
    if count_images != count_labels:
        raise CorruptDataError(
            f"{images} holds {count_images} images but {labels} holds {count_labels} labels: they come from "
            "different copies; delete both and pass --download, or replace them with a matching pair"
        )


def _resolve_root(root: str | os.PathLike[str] | None, folder: str) -> Path:
    """The directory that holds ``folder/raw``; also accepts ``ROOT/folder`` or ``ROOT/folder/raw`` itself."""
    base = data_dir(root).resolve() if root else data_dir().resolve()
    if base.name == "raw" and base.parent.name == folder:
        return base.parent.parent
    if base.name == folder and (base / "raw").is_dir():
        return base.parent
    return base


def _load(name: str, root: str | os.PathLike[str] | None, split: str, download: bool) -> SampleSet:
    if split not in SPLITS:
        raise ConfigError(f"dataset {name!r} has no split {split!r}; choose one of {', '.join(SPLITS)}")
    folder = TORCHVISION_CLASSES[name]
    base = _resolve_root(root, folder)
    raw = base / folder / "raw"

    from torchvision import datasets

    dataset_class = getattr(datasets, folder)
    _check_split(raw, split)
    try:
        dataset = dataset_class(str(base), train=split == "train", download=download)
    except RuntimeError as error:
        _check_split(raw, split)  # the files a download just fetched
        if download:
            raise DataNotFoundError(
                f"could not download {folder} into {raw} (no internet?): "
                f"put the IDX files there by hand ({_last_line(error)})"
            ) from None
        raise DataNotFoundError(
            f"{folder} not found under {base}: put the IDX files in {raw}/ or pass --download (needs internet)"
        ) from None
    samples = dataset.data.unsqueeze(1).contiguous()  # (N, 28, 28) -> (N, 1, 28, 28) uint8
    return SampleSet(samples, dataset.targets, name=name, classes=list(dataset.classes))


def _last_line(error: BaseException) -> str:
    """torchvision's download error lists every mirror; its last line holds the actual cause."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def load_mnist(root: str | os.PathLike[str] | None = None, split: str = "train", download: bool = False) -> SampleSet:
    """MNIST digits as uint8 ``(N, 1, 28, 28)`` with labels 0-9."""
    return _load("mnist", root, split, download)


def load_fashion_mnist(
    root: str | os.PathLike[str] | None = None, split: str = "train", download: bool = False
) -> SampleSet:
    """Fashion-MNIST clothing as uint8 ``(N, 1, 28, 28)`` with 10 labels."""
    return _load("fashion-mnist", root, split, download)


def load_kmnist(root: str | os.PathLike[str] | None = None, split: str = "train", download: bool = False) -> SampleSet:
    """Kuzushiji-MNIST characters as uint8 ``(N, 1, 28, 28)`` with 10 labels."""
    return _load("kmnist", root, split, download)
