"""ganzoo.io.files: the one durable-write helper, and every caller that writes a file ganzoo keeps."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.io.files import write_atomic, write_bytes, write_text

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_get_the_mode_an_ordinary_open_gives(tmp_path, umask):
    with open(tmp_path / "plain.txt", "w") as file:
        file.write("reference")
    expected = mode(tmp_path / "plain.txt")
    assert expected == 0o666 & ~umask
    assert mode(write_text(tmp_path / "a.txt", "text")) == expected
    assert mode(write_bytes(tmp_path / "b.bin", b"\x00\x01")) == expected
    assert mode(write_atomic(tmp_path / "c.pt", lambda file: torch.save({"x": 1}, file))) == expected


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = write_text(tmp_path / "config.json", "old\n")

    def half_then_fail(file):
        file.write(b"half a fi")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, half_then_fail)
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C mid-write is no different
        write_atomic(path, lambda file: (file.write(b"x"), (_ for _ in ()).throw(KeyboardInterrupt()))[0])
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_writes_replace_create_folders_and_accept_writers_that_take_a_path(tmp_path):
    from safetensors.torch import load_file, save_file

    path = tmp_path / "new" / "deeper" / "t.safetensors"
    tensors = {"x": torch.arange(6.0).reshape(2, 3)}
    assert write_atomic(path, lambda file: save_file(tensors, file.name)) == path
    assert torch.equal(load_file(path)["x"], tensors["x"])
    write_atomic(path, lambda file: save_file({"x": torch.zeros(1)}, file.name))
    assert torch.equal(load_file(path)["x"], torch.zeros(1))
    assert write_text(tmp_path / "u.txt", "naïve\n").read_bytes() == "naïve\n".encode()
    assert sorted(p.name for p in path.parent.iterdir()) == ["t.safetensors"]


def test_the_file_and_the_folder_are_fsynced(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}") if os.path.exists("/proc/self/fd") else "?")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    write_text(tmp_path / "x.txt", "x")
    assert len(synced) == 2
    if synced[0] != "?":
        assert Path(synced[0]).name.startswith(".ganzoo-x.txt.") and Path(synced[1]) == tmp_path.resolve()


# ------------------------------------------------------------------ every durable write goes through it
def _png(path: Path) -> None:
    from ganzoo.io.imaging import save_grid

    save_grid(torch.zeros(4, 1, 8, 8), path, nrow=2)


def _checkpoint(path: Path) -> None:
    from ganzoo.training.checkpoint import save_checkpoint

    save_checkpoint(path, {"step": 3})


def _generator_weights(path: Path) -> None:
    from ganzoo.cards.folder import write_generator_weights

    gan = ganzoo.create("mlp-gan", dataset="ring-8", seed=0)
    write_generator_weights(path, gan.generator, model="mlp-gan", config=gan.config)


def _export(path: Path) -> None:  # hub.save -> export.write_export: weights, config, card, samples
    ganzoo.save(ganzoo.create("mlp-gan", dataset="ring-8", seed=0), path.parent, overwrite=True)


def _stats_cache(path: Path) -> None:
    from ganzoo.metrics.stats import FeatureSet, _save

    features = torch.zeros(3, 2)
    _save(path, FeatureSet(features, features.mean(0), torch.eye(2)), {"format": "test"})


def _image_cache(path: Path) -> None:
    from ganzoo_plugins.datasets.images import load_image_folder

    folder = path.parent / "images" / "all"
    folder.mkdir(parents=True)
    for index in range(2):
        Image.fromarray(np.full((8, 8, 3), index, dtype=np.uint8)).save(folder / f"{index}.png")
    previous, os.environ["XDG_CACHE_HOME"] = os.environ["XDG_CACHE_HOME"], str(path.parent / "cache")
    try:
        load_image_folder(folder.parent, image_size=8)
    finally:
        os.environ["XDG_CACHE_HOME"] = previous
    (cached,) = (path.parent / "cache").rglob("*.safetensors")
    cached.replace(path)


def _download(path: Path) -> None:
    from ganzoo.cards.weights import download_file

    source = path.parent / "source.bin"
    source.write_bytes(b"weights")
    download_file(source.as_uri(), path, None, "test weights")
    source.unlink()


def _sample_tensor(path: Path) -> None:
    from ganzoo.io.samplefiles import TensorFile

    TensorFile(path, 2, (2,), torch.zeros(2, 3), None, {"model": "m", "seed": 0}).write([torch.zeros(2, 2)])


WRITERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "sample grid PNG": (_png, "grid.png"),
    "checkpoint": (_checkpoint, "last.pt"),
    "generator weights": (_generator_weights, "g.safetensors"),
    "export folder": (_export, "model.safetensors"),
    "real-data statistics cache": (_stats_cache, "stats.safetensors"),
    "image-folder cache": (_image_cache, "images.safetensors"),
    "weights download": (_download, "downloaded.bin"),
    "ganzoo sample --tensor": (_sample_tensor, "samples.safetensors"),
}


@pytest.mark.parametrize("what", WRITERS)
def test_each_durable_write_gets_ordinary_permissions(what, tmp_path):
    """Exports and sample PNGs came out -rw------- when each caller used mkstemp on its own."""
    write, name = WRITERS[what]
    previous = os.umask(0o022)
    try:
        write(tmp_path / name)
    finally:
        os.umask(previous)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "images" not in p.parts]
    assert written and {p.name: mode(p) for p in written} == {p.name: 0o644 for p in written}


@pytest.mark.parametrize("what", WRITERS)
def test_each_durable_write_keeps_the_old_file_when_it_fails(what, tmp_path, monkeypatch):
    """A failing fsync (a full or vanished disk) must leave the previous file and no temporary."""
    write, name = WRITERS[what]
    (tmp_path / name).write_bytes(b"old")

    def fsync(descriptor: int) -> None:
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="fsync failed"):
        write(tmp_path / name)
    assert (tmp_path / name).read_bytes() == b"old"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_no_other_module_renames_temporary_files_itself():
    """One mechanism: a new durable write must use ganzoo.io.files, not a sixth copy of it."""
    pattern = re.compile(r"mkstemp|NamedTemporaryFile|os\.replace\(|os\.rename\(|\.partial\b")
    offenders = []
    for folder in ("ganzoo", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "ganzoo" / "io" / "files.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_temporaries_have_a_name_only_ganzoo_gives(tmp_path):
    from ganzoo.io.files import is_temporary

    made = []
    write_atomic(tmp_path / "last.pt", lambda file: made.append(Path(file.name).name))
    assert is_temporary(made[0]) and made[0].startswith(".ganzoo-last.pt.")
    for name in (".notes.tmp", ".last.pt.abcdefgh.tmp", ".ganzoo-gallery", "ganzoo-x.abcdefgh.tmp",
                 ".ganzoo-x.abcdefgh.tmp.bak"):
        assert not is_temporary(name), name
