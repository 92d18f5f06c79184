"""MNIST, Fashion-MNIST and Kuzushiji-MNIST through torchvision's own dataset classes.

torchvision reads the IDX files (and downloads them, with its md5 checks) into one uint8
tensor per split; ganzoo takes that tensor as it is instead of iterating the dataset
image by image through PIL. Files live where torchvision looks for them:
``ROOT/<ClassName>/raw/`` (``ROOT/MNIST/raw/train-images-idx3-ubyte`` and so on).
"""

from __future__ import annotations

import os
from pathlib import Path

from ganzoo.data import SampleSet
from ganzoo.errors import ConfigError, DataNotFoundError
from ganzoo.paths import data_dir

__all__ = ["TORCHVISION_CLASSES", "load_fashion_mnist", "load_kmnist", "load_mnist"]

TORCHVISION_CLASSES = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
"""ganzoo dataset name -> torchvision class, which is also the folder name under the root."""

SPLITS = ("train", "test")


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
    try:
        dataset = dataset_class(str(base), train=split == "train", download=download)
    except RuntimeError as error:
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
