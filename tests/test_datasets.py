"""The built-in datasets on tiny data the tests make: toys, the MNIST family (IDX files), image folders."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from ganzoo_plugins.datasets import images as images_module
from ganzoo_plugins.datasets.mnist_family import TORCHVISION_CLASSES
from ganzoo_plugins.datasets.toy2d import count_covered_modes, high_quality_share, mode_centres
from helpers import make_folder, write_tiny_family
from PIL import Image

import ganzoo
from ganzoo.data import SampleSet
from ganzoo.errors import ConfigError, DataNotFoundError

DATASETS = ganzoo.list_datasets()
EMBEDDED = [name for name in DATASETS if ganzoo.get_dataset_spec(name).embedded]
MNIST_FAMILY = [
    name
    for name in DATASETS
    if str(ganzoo.get_dataset_spec(name).loader).startswith("ganzoo_plugins.datasets.mnist_family:")
]
IMAGE_FILES = [
    name for name in DATASETS if str(ganzoo.get_dataset_spec(name).loader).startswith("ganzoo_plugins.datasets.images:")
]


def test_every_built_in_dataset_is_covered_here():
    builtin = {n for n in DATASETS if str(ganzoo.get_dataset_spec(n).loader).startswith("ganzoo_plugins.")}
    assert builtin == set(EMBEDDED) | set(MNIST_FAMILY) | set(IMAGE_FILES)
    assert {"mnist", "fashion-mnist", "kmnist"} <= set(MNIST_FAMILY)
    assert {"ring-8", "grid-25"} <= set(EMBEDDED)
    assert {"image-folder", "celeba"} <= set(IMAGE_FILES)


def check_against_spec(spec: ganzoo.DatasetSpec, data: SampleSet) -> None:
    assert isinstance(data, SampleSet)
    if spec.sample_shape is not None:
        assert data.sample_shape == spec.sample_shape
    if spec.channels is not None:
        assert data.sample_shape[0] == spec.channels
    if spec.num_classes is not None:
        assert data.num_classes == spec.num_classes
        assert data.labels.dtype == torch.int64 and data.labels.shape == (len(data),)


# --- embedded toys ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EMBEDDED)
def test_embedded_sets_are_deterministic_float_points(name):
    spec = ganzoo.get_dataset_spec(name)
    train = spec.load(split="train")
    check_against_spec(spec, train)
    assert train.samples.dtype == torch.float32 and not train.is_image
    assert torch.isfinite(train.samples).all()
    again = spec.load(split="train")
    assert torch.equal(train.samples, again.samples) and torch.equal(train.labels, again.labels)
    for split in spec.splits:
        if split != "train":
            other = spec.load(split=split)
            assert other.sample_shape == train.sample_shape
            assert not torch.equal(other.samples[:100], train.samples[:100])


@pytest.mark.parametrize("name", ["ring-8", "grid-25"])
def test_toy_points_lie_at_their_modes(name):
    data = ganzoo.get_dataset_spec(name).load()
    centres = mode_centres(name)
    assert data.samples.shape == (25_000, 2) and data.num_classes == len(centres)
    # Labels are mode indices, balanced, and every point is near its own mode (std 0.02: 6 std = 0.12).
    assert torch.equal(torch.bincount(data.labels), torch.full((len(centres),), 25_000 // len(centres)))
    offsets = data.samples - centres[data.labels]
    assert offsets.abs().max() < 0.12
    assert offsets.std().item() == pytest.approx(0.02, rel=0.05)
    assert data.samples.abs().max() < 1.0  # reachable by a Tanh output


def test_ring_and_grid_geometry():
    ring = mode_centres("ring-8")
    assert torch.allclose(ring.norm(dim=1), torch.full((8,), 0.8))
    grid = mode_centres("grid-25")
    assert grid.shape == (25, 2)
    assert sorted({round(v, 4) for v in grid[:, 0].tolist()}) == [-0.8, -0.4, 0.0, 0.4, 0.8]
    with pytest.raises(ConfigError, match="ring-8"):
        mode_centres("ring-9")


def test_mode_coverage_counts():
    data = ganzoo.get_dataset_spec("ring-8").load(split="test")
    centres = mode_centres("ring-8")
    assert count_covered_modes(data.samples, centres) == 8
    assert count_covered_modes(data.samples[data.labels < 3], centres) == 3
    collapsed = centres[2].repeat(500, 1) + 0.01 * torch.randn(500, 2)
    assert count_covered_modes(collapsed, centres) == 1
    assert count_covered_modes(torch.zeros(500, 2), centres) == 0  # the centre of the ring is no mode
    assert count_covered_modes(torch.empty(0, 2), centres) == 0
    # A few stray samples at a mode do not cover it; min_share sets the bar.
    mostly_one = torch.cat([collapsed, centres[5].repeat(5, 1)])
    assert count_covered_modes(mostly_one, centres) == 1
    assert count_covered_modes(mostly_one, centres, min_share=0.005) == 2
    assert high_quality_share(data.samples, centres) == pytest.approx(0.989, abs=0.01)  # 1 - exp(-4.5)
    assert high_quality_share(torch.zeros(10, 2), centres) == 0.0


# --- the MNIST family -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MNIST_FAMILY)
def test_mnist_family_loads_idx_files_as_one_uint8_tensor(name, tmp_path):
    written = write_tiny_family(tmp_path, name)
    spec = ganzoo.get_dataset_spec(name)
    train = spec.load(tmp_path, "train")
    check_against_spec(spec, train)
    assert train.samples.shape == (7, 1, 28, 28) and train.samples.dtype == torch.uint8
    assert np.array_equal(train.samples[:, 0].numpy(), written["train"])
    assert train.labels.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert train.num_classes == 10 and train.name == name
    test = spec.load(tmp_path, "test")
    assert test.samples.shape == (3, 1, 28, 28)
    assert np.array_equal(test.samples[:, 0].numpy(), written["t10k"])
    batch = train.normalise(train.samples[:2])
    assert batch.min() >= -1 and batch.max() <= 1


def test_mnist_root_may_name_the_dataset_or_raw_folder_or_come_from_the_environment(tmp_path, monkeypatch):
    write_tiny_family(tmp_path, "mnist")
    spec = ganzoo.get_dataset_spec("mnist")
    for root in (tmp_path, tmp_path / "MNIST", tmp_path / "MNIST" / "raw", str(tmp_path)):
        assert len(spec.load(root)) == 7
    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path))
    assert len(spec.load()) == 7


@pytest.mark.parametrize("name", MNIST_FAMILY)
def test_missing_mnist_family_files_say_where_to_put_them(name, tmp_path):
    spec = ganzoo.get_dataset_spec(name)
    with pytest.raises(DataNotFoundError) as caught:
        spec.load(tmp_path / "empty")
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / "empty" / TORCHVISION_CLASSES[name] / "raw") in message
    assert "--download" in message


def test_unknown_split_is_refused():
    with pytest.raises(ConfigError, match="split"):
        ganzoo.get_dataset_spec("mnist").load(split="valid")
    with pytest.raises(ConfigError, match="split"):
        ganzoo.get_dataset_spec("ring-8").load(split="valid")


# --- image folders and CelebA ----------------------------------------------------------------------------------


def cache_files() -> list[Path]:
    return sorted((ganzoo.io.paths.data_cache_dir() / "image-folder").glob("*"))


def test_image_folder_resizes_crops_and_caches(tmp_path):
    folder = make_folder(tmp_path / "faces")
    spec = ganzoo.get_dataset_spec("image-folder")
    data = spec.load(folder, image_size=16)
    assert isinstance(data, SampleSet) and data.labels is None and data.name == "image-folder"
    assert data.samples.shape == (6, 3, 16, 16) and data.samples.dtype == torch.uint8
    names = [p.relative_to(folder).as_posix() for p in images_module._scan(folder)]
    assert names == ["a/blue.JPEG", "a/tall.png", "a/wide.png", "b/alpha.png", "b/grey.png", "b/wide.jpg"]
    by_name = dict(zip(names, data.samples.int(), strict=True))
    for key in ("a/wide.png", "a/tall.png", "b/wide.jpg"):  # the centre crop keeps the green band only
        centre = by_name[key][:, 4:12, 4:12]
        assert centre[1].min() >= 235 and centre[0].max() <= 20 and centre[2].max() <= 20, key
        assert by_name[key][1].float().mean() > 200, key
    assert (by_name["b/grey.png"] - 200).abs().max() <= 1
    assert by_name["a/blue.JPEG"][2].min() >= 240
    assert by_name["b/alpha.png"][:, 8, 8].tolist() == [10, 20, 30]

    files = cache_files()
    assert len(files) == 1 and files[0].suffix == ".safetensors"
    again = spec.load(folder, image_size=16)
    assert torch.equal(again.samples, data.samples)
    assert cache_files() == files


def test_second_load_reads_the_cache_without_decoding(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "faces")
    first = images_module.load_image_folder(folder, image_size=8)

    def refuse(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(images_module, "decode_images", refuse)
    assert torch.equal(images_module.load_image_folder(folder, image_size=8).samples, first.samples)
    with pytest.raises(AssertionError, match="decoded again"):  # another size is another cache entry
        images_module.load_image_folder(folder, image_size=12)


def test_changed_folder_invalidates_the_cache(tmp_path):
    folder = make_folder(tmp_path / "faces")
    assert len(images_module.load_image_folder(folder, image_size=8)) == 6
    Image.new("RGB", (10, 10), (255, 0, 0)).save(folder / "a" / "new.png")
    assert len(images_module.load_image_folder(folder, image_size=8)) == 7
    assert len(cache_files()) == 2
    # Rewriting a file in place (same name) also counts as a change.
    later = time.time() + 5
    Image.new("RGB", (10, 10), (0, 255, 0)).save(folder / "a" / "new.png")
    os.utime(folder / "a" / "new.png", (later, later))
    reloaded = images_module.load_image_folder(folder, image_size=8)
    assert len(cache_files()) == 3
    new_index = sorted(p.relative_to(folder).as_posix() for p in images_module._scan(folder)).index("a/new.png")
    assert reloaded.samples[new_index, 1].min() >= 250 and reloaded.samples[new_index, 0].max() <= 5
    assert not [p for p in cache_files() if p.suffix != ".safetensors"]  # no temporary files left behind


def test_unreadable_images_are_skipped_with_a_warning(tmp_path):
    folder = make_folder(tmp_path / "faces")
    (folder / "a" / "broken.jpg").write_bytes(b"this is no JPEG")
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        data = images_module.load_image_folder(folder, image_size=8)
    assert len(data) == 6


def test_image_folder_errors_are_one_line(tmp_path):
    spec = ganzoo.get_dataset_spec("image-folder")
    with pytest.raises(DataNotFoundError, match="needs --data DIR"):
        spec.load(None, image_size=16)
    with pytest.raises(DataNotFoundError, match="does not exist") as missing:
        spec.load(tmp_path / "nowhere", image_size=16)
    assert str(tmp_path / "nowhere") in str(missing.value)
    (tmp_path / "empty" / "class").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match="no images") as empty:
        spec.load(tmp_path / "empty", image_size=16)
    assert str(tmp_path / "empty") in str(empty.value) and "\n" not in str(empty.value)
    with pytest.raises(ConfigError, match="image_size"):
        spec.load(tmp_path, image_size=0)


def test_image_folder_default_size_is_64(tmp_path):
    folder = make_folder(tmp_path / "faces")
    assert ganzoo.get_dataset_spec("image-folder").load(folder).sample_shape == (3, 64, 64)


def test_missing_celeba_says_where_files_go(tmp_path):
    with pytest.raises(DataNotFoundError) as caught:
        ganzoo.get_dataset_spec("celeba").load(tmp_path, image_size=16)
    message = str(caught.value)
    assert str(tmp_path / "celeba") in message and "img_align_celeba" in message and "\n" not in message


# ---------------------------------------------------------------- uint8 -> [-1, 1], one copy
ALL_PIXELS = torch.arange(256, dtype=torch.uint8).reshape(4, 1, 8, 8)


def test_uint8_to_unit_is_the_trainers_arithmetic_bit_for_bit():
    from ganzoo.nn import uint8_to_unit

    unit = uint8_to_unit(ALL_PIXELS)
    assert unit.dtype == torch.float32 and unit.min() == -1.0 and unit.max() == 1.0
    assert torch.equal(unit, ALL_PIXELS.float().mul_(1 / 127.5).sub_(1.0))  # what training has always fed D
    assert not torch.equal(unit, ALL_PIXELS.float().div_(127.5).sub_(1.0))  # dividing is not the same numbers
    assert ALL_PIXELS.max() == 255  # a new tensor: the stored pixels are untouched
    assert uint8_to_unit(ALL_PIXELS, torch.float64).dtype == torch.float64
    with pytest.raises(ValueError, match=r"takes uint8 pixels, got torch\.float32"):
        uint8_to_unit(unit)


def test_datasets_and_real_features_see_the_same_numbers_as_training():
    from ganzoo.metrics.stats import compute_features
    from ganzoo.nn import uint8_to_unit

    assert torch.equal(SampleSet(ALL_PIXELS).normalise(ALL_PIXELS), uint8_to_unit(ALL_PIXELS))
    seen = []

    class Recorder:
        def extract(self, x):
            seen.append(x.clone())
            return x.flatten(1), None

    compute_features(Recorder(), ALL_PIXELS, batch_size=4)
    assert torch.equal(seen[0], uint8_to_unit(ALL_PIXELS))


def test_no_module_keeps_its_own_copy_of_the_pixel_conversion():
    root = Path(__file__).resolve().parents[1]
    allowed = {"ganzoo/nn.py"}
    copies = [
        str(path.relative_to(root))
        for folder in ("ganzoo", "plugins")
        for path in (root / folder).rglob("*.py")
        if str(path.relative_to(root)) not in allowed
        and any(f in path.read_text(encoding="utf-8") for f in ("div_(127.5)", "div(127.5)", "/ 127.5)"))
    ]
    assert copies == []


def test_the_image_cache_is_in_the_data_cache_which_ganzoo_data_cache_dir_moves(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "faces")
    ganzoo.get_dataset_spec("image-folder").load(folder, image_size=8)
    home = Path(os.environ["XDG_CACHE_HOME"]) / "ganzoo"
    assert len(list((home / "data-cache" / "image-folder").glob("*.safetensors"))) == 1
    assert not (home / "weights" / "image-folder").exists()  # not among the weights (issue 34)
    monkeypatch.setenv("GANZOO_DATA_CACHE_DIR", str(tmp_path / "my-cache"))
    ganzoo.get_dataset_spec("image-folder").load(folder, image_size=8)
    assert len(list((tmp_path / "my-cache" / "image-folder").glob("*.safetensors"))) == 1
