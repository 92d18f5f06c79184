"""Sizes that come from outside (an option, an image's header) are checked before memory is allocated.

``ganzoo sample -n 3000000``, ``eval --image-size 20000`` and a 20000x20000 PNG in an image folder
ended in allocator tracebacks or in a message blaming the dataset plugin. Each is now refused in
one line naming the option or the file and the limit (``ganzoo.io.memory.require_memory`` and the
one picture limit of ``ganzoo.io.imaging``), and a large ``-n`` streams to disk a batch at a time.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
import torch
from ganzoo_plugins.datasets import images as images_module
from helpers import make_folder
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app

runner = CliRunner()


def _one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def _never(what: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{what} was called")

    return refuse


def _png_header(path: Path, width: int, height: int) -> Path:
    """A 60-byte PNG whose header declares ``width`` x ``height`` pixels: a decompression bomb's first bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))
    return path


def _limit_memory(monkeypatch, megabytes: float) -> None:
    monkeypatch.setattr("ganzoo.io.memory.available_memory", lambda: int(megabytes * 10**6))


# ---------------------------------------------------------------- the one memory check


def test_available_memory_is_read_and_a_request_beyond_it_is_refused_naming_it():
    from ganzoo.errors import MemoryLimitError
    from ganzoo.io.memory import available_memory, require_memory

    free = available_memory()
    assert free is not None and free > 0  # Linux: /proc/meminfo
    require_memory(1000, what="-n 1", fix="lower -n", available=10**6)
    with pytest.raises(MemoryLimitError) as refused:
        require_memory(3 * 10**9, what="-n 3,000,000", fix="lower -n", available=2 * 10**9)
    assert str(refused.value) == (
        "-n 3,000,000 needs at least 3.0 GB of memory, more than the 2.0 GB available: lower -n"
    )


# ---------------------------------------------------------------- ganzoo sample -n


def test_sample_refuses_a_grid_of_three_million_images_before_drawing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("ganzoo.models.sampling.Sampler.latents", _never("Sampler.latents"))
    line = _one_line(runner.invoke(build_app(), ["sample", "dcgan-mnist", "--offline", "-n", "3000000"]))
    assert line.startswith("error: -n 3,000,000 in a grid of 1733 per row (-o/--output) makes a picture of ")
    assert "over the 179.0-megapixel limit of one picture" in line and "--save-individual" in line
    assert not Path("samples.png").exists()


def test_sample_refuses_latents_that_cannot_fit_naming_n_and_the_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _limit_memory(monkeypatch, 50)
    monkeypatch.setattr("ganzoo.models.sampling.Sampler.latents", _never("Sampler.latents"))
    args = ["sample", "dcgan-mnist", "--offline", "-n", "200000", "--tensor", "x.safetensors"]
    assert _one_line(runner.invoke(build_app(), args)) == (  # the latents, and a batch of 256 held twice
        "error: -n 200,000 (the latents: 81.6 MB) needs at least 83.2 MB of memory, more than the 50.0 MB available: "
        "lower -n"
    )
    assert not Path("x.safetensors").exists()


def test_a_large_n_streams_to_disk_a_batch_at_a_time(tmp_path, monkeypatch):
    """The samples are never all in memory: the grid, the files and the tensor are written as batches come."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("ganzoo.io.samplefiles.MAX_BATCH", 3)
    monkeypatch.setattr("ganzoo.models.sampling.Sampler.decode", _never("Sampler.decode (every sample at once)"))
    seen = []
    batches = ganzoo.models.sampling.Sampler.decode_batches

    def counted(self, *args, **kwargs):
        for batch in batches(self, *args, **kwargs):
            seen.append(len(batch))
            yield batch

    monkeypatch.setattr("ganzoo.models.sampling.Sampler.decode_batches", counted)
    args = ["sample", "cgan-mnist", "--offline", "-n", "10", "--seed", "4", "-o", "grid.png", "--tensor",
            "all.safetensors", "--save-individual", "each"]
    result = runner.invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    assert seen == [3, 3, 3, 1]
    saved = load_file(tmp_path / "all.safetensors")
    assert saved["labels"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    monkeypatch.undo()  # the real decode, to compare with
    model = ganzoo.load("cgan-mnist")
    expected = model.sample(10, seed=4, labels=saved["labels"])
    assert torch.allclose(saved["samples"], expected, atol=1e-5)
    assert torch.equal(saved["latents"], model.latents(10, seed=4))
    assert len(list((tmp_path / "each").glob("*_class*.png"))) == 10
    assert Image.open(tmp_path / "grid.png").size == (2 * (10 * 30 + 2), 2 * (1 * 30 + 2))  # one row per class, x2


def test_decode_checks_the_memory_of_all_its_samples_before_drawing(monkeypatch):
    from ganzoo.errors import MemoryLimitError

    model = ganzoo.load("dcgan-mnist")
    _limit_memory(monkeypatch, 1)
    monkeypatch.setattr("ganzoo.models.sampling.Sampler.decode_batches", _never("decode_batches"))
    with pytest.raises(MemoryLimitError, match=r"^1,000 samples of shape \(1, 28, 28\) needs at least 3.1 MB"):
        model.decode(torch.zeros(1000, model.latent_dim))


# ---------------------------------------------------------------- images: --image-size and decompression bombs


def test_a_decompression_bomb_in_an_image_folder_is_named_not_blamed_on_the_plugin(tmp_path):
    from ganzoo.errors import MemoryLimitError

    folder = make_folder(tmp_path / "faces")
    bomb = _png_header(folder / "a" / "huge.png", 20000, 20000)
    with pytest.raises(MemoryLimitError) as refused:
        ganzoo.get_dataset_spec("image-folder").load(folder, image_size=8)
    message = str(refused.value)
    assert message == (
        f"image {bomb} declares 400,000,000 pixels, more than the 178,956,970 of one picture ganzoo decodes "
        "(a decompression bomb?): remove it or shrink it"
    )


def test_eval_refuses_an_image_size_larger_than_a_picture_before_decoding(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "faces")
    monkeypatch.setattr(images_module, "_decode_one", _never("the decoder"))
    args = ["eval", "image-folder", "--real", "--data", str(folder), "--image-size", "20000", "-n", "5", "-q"]
    assert _one_line(runner.invoke(build_app(), args)) == (
        "error: --image-size 20000 makes a picture of 20000x20000 pixels (400.0 megapixels), over the "
        "179.0-megapixel limit of one picture: choose a smaller --image-size"
    )


def test_decoding_a_folder_that_cannot_fit_names_the_image_size_and_the_memory(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "faces")
    _limit_memory(monkeypatch, 100)
    monkeypatch.setattr(images_module, "_decode_one", _never("the decoder"))
    args = ["eval", "image-folder", "--real", "--data", str(folder), "--image-size", "4096", "-n", "5", "-q"]
    assert _one_line(runner.invoke(build_app(), args)) == (
        "error: decoding 6 images at 4096x4096 pixels (--image-size) needs at least 302.0 MB of memory, more than "
        "the 100.0 MB available: choose a smaller --image-size"
    )


def test_eval_of_a_model_refuses_an_image_size_it_does_not_make(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "faces")
    monkeypatch.setattr(images_module, "_decode_one", _never("the decoder"))
    args = ["eval", "dcgan-mnist", "--dataset", "image-folder", "--data", str(folder), "--image-size", "20000",
            "-n", "5", "-q"]
    line = _one_line(runner.invoke(build_app(), args))
    assert line.startswith("error: image size 20000 (--image-size) is not the 28x28 of the samples dcgan-mnist")


def test_an_evaluation_whose_features_cannot_fit_names_n(tmp_path, monkeypatch):
    from ganzoo.errors import MemoryLimitError
    from ganzoo.metrics import evaluate_real

    folder = make_folder(tmp_path / "faces")
    _limit_memory(monkeypatch, 0.5)
    with pytest.raises(MemoryLimitError, match=r"^evaluating 5 samples \(-n\) of 3x8x8 in batches of 500 "):
        evaluate_real("image-folder", data_dir=folder, image_size=8, n=5, extractor="random-conv")
