"""ganzoo sample --interpolate --gif: an animated, looping latent walk through several seeds, within a class for
conditional models; and the closed spherical path and Sampler.walk underneath."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.io.animation import grid_frame
from ganzoo.models.sampling import loop_path, slerp

runner = CliRunner()


def test_a_loop_path_passes_every_key_once_and_returns_to_the_first():
    keys = torch.randn(3, 16)
    path = loop_path(keys, 4)
    assert path.shape == (12, 16)
    for index in range(3):
        torch.testing.assert_close(path[4 * index], keys[index])
    torch.testing.assert_close(path[-4:], slerp(keys[2], keys[0], 5)[:4])  # back towards the first, without it
    assert len({tuple(point.tolist()) for point in path}) == 12  # no frame twice


def test_walk_frames_start_at_the_seeds_latents_and_keep_each_walks_class():
    gan = ganzoo.create("cgan-mnist", seed=0)
    frames = list(gan.walk(2, seed=5, keys=3, steps=4, labels=[3, 7]))
    assert len(frames) == 12 and frames[0].shape == (2, 1, 28, 28)
    ends = gan.latents(6, seed=5)  # key j of walk i is row j * n + i
    torch.testing.assert_close(frames[0], gan.decode(ends[:2], [3, 7]))
    torch.testing.assert_close(frames[4], gan.decode(ends[2:4], [3, 7]))
    torch.testing.assert_close(frames[8], gan.decode(ends[4:6], [3, 7]))
    assert not torch.allclose(frames[0], gan.decode(ends[:2], [7, 3]))  # the labels are used, every frame
    assert not torch.allclose(frames[1], frames[0])


def gif(path: Path) -> tuple[list[np.ndarray], list[int], dict]:
    frames, durations = [], []
    with Image.open(path) as opened:
        info = dict(opened.info)
        for index in range(opened.n_frames):
            opened.seek(index)
            frames.append(np.asarray(opened.convert("L")))
            durations.append(opened.info["duration"])
    return frames, durations, info


def test_the_command_writes_a_looping_walk_within_a_class(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ganzoo.save(ganzoo.create("cgan-mnist", seed=1), "c", samples=False)
    args = ["sample", "./c", "--interpolate", "--gif", "walk.gif", "-n", "4", "--labels", "3", "--seed", "2"]
    done = runner.invoke(build_app(), args)
    assert done.exit_code == 0, done.output
    assert "walk.gif (a walk of 4 images through 4 seeds each)" in done.output
    assert not Path("samples.png").exists()  # with --gif, a grid only when -o asks for one
    frames, durations, info = gif(Path("walk.gif"))
    assert info["loop"] == 0 and len(frames) == 48 and sum(durations) <= 10_000 and min(durations) >= 20
    model = ganzoo.load("./c")
    walk = list(model.walk(4, seed=2, labels=[3] * 4))
    expected = [np.asarray(grid_frame(images, nrow=2, scale=2)) for images in walk[:2]]
    assert all(np.array_equal(frames[i], expected[i]) for i in range(2))  # the walk, 2 by 2, enlarged
    assert not np.array_equal(frames[0], frames[24])
    again = runner.invoke(build_app(), [*args[:4], "again.gif", *args[5:], "-o", "grid.png"])
    assert again.exit_code == 0 and Path("grid.png").is_file()
    assert Path("again.gif").read_bytes() == Path("walk.gif").read_bytes()  # the same seed, the same walk


def test_gif_mistakes_are_one_line_before_anything_is_drawn(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ganzoo.save(ganzoo.create("dcgan-mnist", seed=1), "g", samples=False)
    ganzoo.save(ganzoo.create("mlp-gan", dataset="ring-8", seed=0), "ring", samples=False)
    Path("folder.gif").mkdir()
    for args, message in [
        (["./g", "--gif", "w.gif"], "--gif writes an animated latent walk: add --interpolate"),
        (["./ring", "--interpolate", "--gif", "w.gif"], "draws points, not images: --gif needs an image model"),
        (["./g", "--interpolate", "--gif", "folder.gif"], "--gif"),
    ]:
        done = runner.invoke(build_app(), ["sample", *args])
        assert done.exit_code == 1, (args, done.output)
        assert message in done.output and len(done.output.strip().splitlines()) == 1, done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.gif", "g", "ring"]


@pytest.mark.parametrize("count", [1, 3])
def test_any_number_of_walks_tiles_a_square(tmp_path, monkeypatch, count):
    monkeypatch.chdir(tmp_path)
    ganzoo.save(ganzoo.create("dcgan-mnist", seed=1), "g", samples=False)
    done = runner.invoke(build_app(), ["sample", "./g", "--interpolate", "--gif", "w.gif", "-n", str(count)])
    assert done.exit_code == 0, done.output
    frames, _, _ = gif(Path("w.gif"))
    columns = 1 if count == 1 else 2
    assert frames[0].shape[1] == 2 * (columns * 30 + 2)
