"""Damaged data and unwritable caches: one line naming the file and the problem, or a warning and on we go."""

from __future__ import annotations

import errno
import os
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from ganzoo_plugins.datasets import images as images_module
from ganzoo_plugins.datasets.mnist_family import TORCHVISION_CLASSES
from helpers import make_folder, tiny_mnist_root

import ganzoo
from ganzoo.errors import CorruptDataError
from ganzoo.io.files import CacheWarning

# ---------------------------------------------------------------- MNIST IDX files


def _raw(root: Path) -> Path:
    return root / TORCHVISION_CLASSES["mnist"] / "raw"


def _load_error(root: Path, split: str = "train") -> str:
    with pytest.raises(CorruptDataError) as caught:
        ganzoo.get_dataset_spec("mnist").load(root, split)
    message = str(caught.value)
    assert "\n" not in message and "--download" in message
    return message


def test_an_empty_labels_file_is_named(tmp_path):
    raw = _raw(tiny_mnist_root(tmp_path))
    (raw / "train-labels-idx1-ubyte").write_bytes(b"")
    assert _load_error(tmp_path).startswith(f"{raw / 'train-labels-idx1-ubyte'} is empty (0 bytes): delete it")


def test_swapped_images_and_labels_are_named(tmp_path):
    raw = _raw(tiny_mnist_root(tmp_path))
    images, labels = raw / "t10k-images-idx3-ubyte", raw / "t10k-labels-idx1-ubyte"
    swap = tmp_path / "swap"
    images.rename(swap)
    labels.rename(images)
    swap.rename(labels)
    message = _load_error(tmp_path, "test")
    assert message.startswith(f"{images} is not an IDX images file: it holds an IDX labels file "
                              "(are the images and labels files swapped?)")


def test_a_truncated_images_file_says_how_many_bytes_it_should_have(tmp_path):
    raw = _raw(tiny_mnist_root(tmp_path, count=48))
    images = raw / "train-images-idx3-ubyte"
    expected = 16 + 48 * 28 * 28
    images.write_bytes(images.read_bytes()[:5000])
    message = _load_error(tmp_path)
    assert f"{images} is truncated" in message
    assert f"expected {expected} bytes, found 5000" in message and "not found" not in message
    images.write_bytes(images.read_bytes()[:10])  # cut inside the header
    assert "its IDX header alone needs 16 bytes, found 10" in _load_error(tmp_path)


def test_a_file_that_is_no_idx_at_all_or_too_long_or_of_another_copy_is_named(tmp_path):
    raw = _raw(tiny_mnist_root(tmp_path, count=48))
    images, labels = raw / "train-images-idx3-ubyte", raw / "train-labels-idx1-ubyte"
    good = images.read_bytes()
    images.write_bytes(b"<html>404 Not Found</html>")
    assert "is not an IDX images file (no IDX header at its start)" in _load_error(tmp_path)
    images.write_bytes(good + b"extra")
    assert f"is longer than its IDX header says: expected {len(good)} bytes, found {len(good) + 5}" in _load_error(
        tmp_path
    )
    images.write_bytes(good)
    labels.write_bytes(bytes([0, 0, 8, 1]) + (40).to_bytes(4, "big") + bytes(40))  # a good file of 40 labels
    assert "holds 48 images but" in _load_error(tmp_path) and "holds 40 labels" in _load_error(tmp_path)


def test_good_idx_files_still_load(tmp_path):
    tiny_mnist_root(tmp_path, count=48)
    assert len(ganzoo.get_dataset_spec("mnist").load(tmp_path)) == 48


# ---------------------------------------------------------------- the image-folder cache


def test_an_unwritable_image_cache_is_said_once_and_the_images_still_load(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "faces")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache would lie below a file
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = images_module.load_image_folder(folder, image_size=8)
    assert len(data) == 6
    cache = [w for w in caught if issubclass(w.category, CacheWarning)]
    assert len(cache) == 1
    assert str(cache[0].message).startswith("cannot write the image cache ")
    assert f"({blocker} is a file, not a folder): going on without it" in str(cache[0].message)


def test_a_full_disk_while_caching_is_a_warning_not_a_crash(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "faces")
    import safetensors.torch

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    with pytest.warns(CacheWarning, match=r"no space left on the device \(.* free, it needs "):
        data = images_module.load_image_folder(folder, image_size=8)
    assert len(data) == 6
    assert not list((ganzoo.io.paths.data_cache_dir() / "image-folder").glob("*"))  # nothing half-written


# ---------------------------------------------------------------- symbolic links in an image folder


def test_a_symlink_loop_in_an_image_folder_is_followed_once(tmp_path):
    folder = make_folder(tmp_path / "faces")
    (folder / "a" / "loop").symlink_to(folder, target_is_directory=True)  # faces/a/loop -> faces
    (folder / "b" / "again").symlink_to(folder / "a", target_is_directory=True)  # a second name for a/
    outside = tmp_path / "more"
    shutil.copytree(folder / "b", outside, symlinks=False, ignore=shutil.ignore_patterns("again"))
    (folder / "linked").symlink_to(outside, target_is_directory=True)  # a real folder elsewhere: taken
    names = [p.relative_to(folder).as_posix() for p in images_module._scan(folder)]
    assert len(names) == 6 + 3
    assert not [n for n in names if "loop" in n or "again" in n]
    assert len(images_module.load_image_folder(folder, image_size=8)) == 9


class _RowStats:
    name = "row-stats"
    weights_sha256 = "0" * 64
    num_classes = 2

    def extract(self, x):
        rows = x.flatten(2)
        return torch.cat([rows.mean(2), rows.std(2), x.mean((2, 3))[:, :1] * 3], 1), None


def test_an_unwritable_statistics_cache_is_said_once_and_the_features_are_returned(tmp_path, monkeypatch):
    from ganzoo.metrics import real_features

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(blocker / "weights"))
    images = torch.randint(0, 256, (12, 1, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    with pytest.warns(CacheWarning, match=f"cannot write the reference statistics cache .*{blocker} is a file"):
        result = real_features(images, None, dataset="toy", split="test", extractor=_RowStats(), batch_size=4)
    assert result.features.shape[0] == 12 and result.path is None
