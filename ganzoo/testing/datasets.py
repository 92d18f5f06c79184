"""Contract checks of datasets, and the synthetic stand-in a model trains on when its data needs files."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import GanzooError
from ..registry.catalog import get_registry
from ..registry.records import DatasetSpec
from .core import SYNTHETIC_IMAGE_SIZE, SYNTHETIC_SAMPLES, fail

__all__ = ["check_dataset", "check_dataset_load", "check_dataset_missing", "dataset_for_training", "needs_files"]


def _synthetic_loader(data: DatasetSpec) -> Callable[..., Any]:
    """A loader of random samples shaped like ``data``'s: uint8 images, or float points in [-0.9, 0.9]."""

    def load(split: str = "train", image_size: int | None = None) -> Any:
        import torch

        from ..data import SampleSet

        generator = torch.Generator().manual_seed(0)
        if data.sample_shape is not None:
            shape = tuple(data.sample_shape)
        else:
            size = image_size or SYNTHETIC_IMAGE_SIZE
            shape = (data.channels or 3, size, size)
        image = data.channels is not None or len(shape) == 3
        if image:
            samples = torch.randint(0, 256, (SYNTHETIC_SAMPLES, *shape), generator=generator, dtype=torch.uint8)
        else:
            samples = torch.rand((SYNTHETIC_SAMPLES, *shape), generator=generator) * 1.8 - 0.9
        labels = None
        classes = None
        if data.num_classes:
            labels = torch.arange(SYNTHETIC_SAMPLES) % data.num_classes
            classes = [str(k) for k in range(data.num_classes)]
        return SampleSet(samples, labels, name=data.name, classes=classes)

    return load


@contextlib.contextmanager
def dataset_for_training(name: str) -> Iterator[None]:
    """Swap the registry's record of a dataset that needs files for one of random data, then put it back."""
    records = get_registry().datasets.records
    original = records[name]
    if original.embedded:
        yield
        return
    records[name] = dataclasses.replace(original, loader=_synthetic_loader(original), embedded=True)
    try:
        yield
    finally:
        records[name] = original


def needs_files(spec: DatasetSpec) -> bool:
    return not spec.embedded


def check_dataset_missing(spec: DatasetSpec) -> None:
    """Loading a file-backed dataset from an empty folder is a one-line GanzooError, not a traceback."""
    with tempfile.TemporaryDirectory(prefix="ganzoo-contract-empty-") as empty:
        try:
            spec.load(empty, spec.splits[0], download=False, image_size=SYNTHETIC_IMAGE_SIZE)
        except GanzooError as error:
            if "\n" in str(error).strip():
                raise fail("dataset", spec, f"its missing-data error spans lines: {str(error)!r}") from error
            return
        except Exception as error:
            raise fail("dataset", spec, f"loading from an empty folder raised {error!r}; raise "
                        "ganzoo.DataNotFoundError saying where the files go") from error
    raise fail("dataset", spec, "loading from an empty folder succeeded; a dataset that needs files should "
                "raise ganzoo.DataNotFoundError (or set embedded=True if it needs none)")


def check_dataset_load(spec: DatasetSpec, root: str | os.PathLike[str] | None = None) -> None:
    import torch

    from ..data import SampleSet

    if needs_files(spec) and root is None:
        import pytest

        pytest.skip(
            f"plugin {spec.plugin!r}, dataset {spec.name!r} needs external data files: its shapes are not checked "
            "here; pass data_roots={" + repr(spec.name) + ": folder} to check them"
        )
    for split in spec.splits:
        where = f"split {split!r}"
        try:
            data = spec.load(root, split, download=False, image_size=SYNTHETIC_IMAGE_SIZE)
        except GanzooError as error:
            raise fail("dataset", spec, f"{where} does not load: {error}") from error
        if not isinstance(data, SampleSet):
            raise fail("dataset", spec, f"{where}: the loader returned a {type(data).__name__}, not a SampleSet")
        if len(data) == 0:
            raise fail("dataset", spec, f"{where} is empty")
        if spec.sample_shape is not None and data.sample_shape != spec.sample_shape:
            raise fail("dataset", spec, f"{where} has samples of shape {data.sample_shape}, declared "
                        f"{spec.sample_shape}")
        if spec.sample_shape is None and data.sample_shape[1:] != (SYNTHETIC_IMAGE_SIZE,) * 2:
            raise fail("dataset", spec, f"{where}: asked for image_size={SYNTHETIC_IMAGE_SIZE}, got samples of "
                        f"shape {data.sample_shape}")
        if spec.channels is not None and data.sample_shape[0] != spec.channels:
            raise fail("dataset", spec, f"{where} has {data.sample_shape[0]} channels, declared {spec.channels}")
        if data.is_image and len(data.sample_shape) != 3:
            raise fail("dataset", spec, f"{where}: uint8 samples must be (N, C, H, W) images")
        if not data.is_image and not torch.isfinite(data.samples).all():
            raise fail("dataset", spec, f"{where} has non-finite samples")
        if not data.is_image and (data.samples.min() < -1 or data.samples.max() > 1):
            raise fail("dataset", spec, f"{where} has float samples in [{data.samples.min().item():.3g}, "
                        f"{data.samples.max().item():.3g}]; float samples must lie in [-1, 1], the range of a Tanh "
                        "generator: scale them (or give uint8 images in [0, 255])")
        if spec.num_classes is not None:
            if data.labels is None:
                raise fail("dataset", spec, f"{where} has no labels but declares num_classes={spec.num_classes}")
            if data.num_classes != spec.num_classes:
                raise fail("dataset", spec, f"{where} has {data.num_classes} classes, declared {spec.num_classes}")
            if data.labels.min() < 0 or data.labels.max() >= spec.num_classes:
                raise fail("dataset", spec, f"{where} has labels outside [0, {spec.num_classes})")


def check_dataset(name: str, root: str | os.PathLike[str] | None = None) -> None:
    """Check the registered dataset ``name``; a dataset that needs files is loaded from ``root``.

    Without ``root`` such a dataset's missing-data error is checked and the shape check
    is skipped (``pytest.skip``) with a reason that says so.
    """
    spec = get_registry().datasets.get(name)
    if needs_files(spec):
        check_dataset_missing(spec)
    check_dataset_load(spec, root)
