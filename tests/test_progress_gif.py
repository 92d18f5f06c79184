"""samples/progress.gif: one frame per fixed-noise grid, extended on --resume, carried by the export and its card;
and the frame rate every ganzoo animation shares."""

from __future__ import annotations

import itertools
import os
import shutil

import numpy as np
import pytest
from helpers import crash_at, tiny_mnist_root
from PIL import Image

from ganzoo.io.animation import MIN_FRAME_MS, frame_durations, pick_frames
from ganzoo.training import TrainConfig, train
from ganzoo.training.callbacks import Callback
from ganzoo.training.callbacks.progress_animation import progress_frames

SETTINGS = {"model": "dcgan-mnist", "options": {"width": 4}, "batch_size": 8, "log_every": 2, "sample_every": 2,
            "quiet": True, "device": "cpu"}


def gif_steps(path) -> list[int]:
    with Image.open(path) as gif:
        comment = gif.info["comment"].decode()
    assert comment.startswith("steps ")
    return [int(step) for step in comment[len("steps "):].split(",")]


def gif_frames(path) -> list[np.ndarray]:
    frames = []
    with Image.open(path) as gif:
        assert gif.info["loop"] == 0  # loops forever
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append((np.asarray(gif.convert("L")), gif.info["duration"]))
    return frames


def test_a_run_animates_every_grid_with_its_step_and_the_export_and_card_carry_it(tmp_path):
    data = tiny_mnist_root(tmp_path / "data")
    result = train(TrainConfig(data_dir=data, steps=7, out=tmp_path / "run", **SETTINGS))
    gif = result.samples_dir / "progress.gif"
    assert gif_steps(gif) == [2, 4, 6, 7]  # every --sample-every grid, then the final one
    frames = gif_frames(gif)
    assert len(frames) == 4 and sum(duration for _, duration in frames) <= 10_000
    grids = [np.asarray(Image.open(result.samples_dir / name).convert("L"))
             for name in ("step_000002.png", "step_000004.png", "step_000006.png", "final.png")]
    for (frame, _), grid in zip(frames, grids, strict=True):
        band = frame.shape[0] - grid.shape[0]
        assert band > 0 and frame.shape[1] == grid.shape[1]
        assert np.array_equal(frame[band:], grid)  # the grid itself, under a caption
        assert (frame[:band] < 128).any() and (frame[:band] == 255).mean() > 0.5  # dark text on a white band
    assert not np.array_equal(frames[0][0][:20], frames[1][0][:20])  # each caption names its own step
    exported = result.export_dir / "progress.gif"
    assert exported.read_bytes() == gif.read_bytes()
    card = result.card.read_text()
    assert "![The same noise during training, one frame per sample grid](progress.gif)" in card


def test_a_resumed_run_keeps_the_frames_from_before_and_drops_grids_it_trains_again(tmp_path):
    data = tiny_mnist_root(tmp_path / "data")
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="killed"):
        train(TrainConfig(data_dir=data, steps=10, out=out, checkpoint_every=4, **SETTINGS), callbacks=[crash_at(7)])
    samples = out / "samples"
    assert gif_steps(samples / "progress.gif") == [2, 4, 6]  # the grid of step 6 came after the checkpoint (4)
    before = {name: os.stat(samples / name).st_mtime_ns for name in ("step_000002.png", "step_000004.png")}

    seen = []

    class Watch(Callback):  # what the animation holds when the resumed run saves its first grid (step 6)
        def on_step_end(self, run):
            if run.step == 6:
                seen.append(gif_steps(run.paths.samples / "progress.gif"))

    result = train(TrainConfig(data_dir=data, steps=10, out=out, resume=True, **SETTINGS), callbacks=[Watch()])
    assert result.start_step == 4 and seen == [[2, 4, 6]]
    assert gif_steps(samples / "progress.gif") == [2, 4, 6, 8, 10]
    assert {name: os.stat(samples / name).st_mtime_ns for name in before} == before  # frames of the first session
    assert len(gif_frames(samples / "progress.gif")) == 5


def test_the_frames_are_the_grids_up_to_the_runs_step(tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    for name in ("step_000010.png", "step_000002.png", "step_000004.png", "notes.png", "step_x.png", "final.png"):
        Image.new("L", (4, 4)).save(samples / name)
    assert [step for step, _ in progress_frames(samples, 4)] == [2, 4]  # step 10: from a session that was killed
    assert [(step, path.name) for step, path in progress_frames(samples, 10, samples / "final.png")] == [
        (2, "step_000002.png"), (4, "step_000004.png"), (10, "final.png")]
    assert progress_frames(tmp_path / "none", 10) == []


@pytest.mark.parametrize("count", [1, 2, 3, 40, 450, 451, 452, 5000])
def test_an_animation_plays_in_at_most_ten_seconds_at_a_rate_browsers_honour(count):
    kept = pick_frames(count, hold_last=True)
    assert kept[0] == 0 and kept[-1] == count - 1 and kept == sorted(set(kept))
    durations = frame_durations(len(kept), hold_last=True)
    assert len(durations) == len(kept) and sum(durations) <= 10_000
    assert min(durations) >= MIN_FRAME_MS and all(d % 10 == 0 for d in durations)
    if count <= 450:
        assert len(kept) == count
    plain = frame_durations(len(pick_frames(count)))
    assert sum(plain) <= 10_000 and min(plain) >= MIN_FRAME_MS


def test_a_grid_that_is_rewritten_is_read_again(tmp_path):
    from ganzoo.training.callbacks.progress_animation import FrameCache, write_progress_gif

    cache = FrameCache()  # what the callback keeps between grids
    samples = tmp_path / "samples"
    samples.mkdir()
    Image.new("L", (8, 8), 0).save(samples / "step_000002.png")
    write_progress_gif(samples, 2, cache=cache)
    shutil.copyfile(samples / "progress.gif", tmp_path / "first.gif")
    Image.new("L", (8, 8), 255).save(samples / "step_000002.png")
    os.utime(samples / "step_000002.png", ns=(1, 1))  # a new grid, whatever the clock's resolution
    write_progress_gif(samples, 2, cache=cache)
    assert gif_frames(samples / "progress.gif")[0][0][-8:].min() == 255
    assert gif_frames(tmp_path / "first.gif")[0][0][-8:].max() == 0


def test_a_long_run_keeps_a_hundred_evenly_spaced_frames_of_a_bounded_width(tmp_path):
    from ganzoo.training.callbacks.progress_animation import FRAME_WIDTH, MOST_FRAMES, write_progress_gif

    samples = tmp_path / "samples"
    samples.mkdir()
    for step in range(10, 1510, 10):  # 150 grids, each wider than a frame may be
        Image.new("L", (1000, 40), step % 256).save(samples / f"step_{step:06d}.png")
    write_progress_gif(samples, 1500)
    steps = gif_steps(samples / "progress.gif")
    assert len(steps) == MOST_FRAMES and steps[0] == 10 and steps[-1] == 1500
    gaps = {b - a for a, b in itertools.pairwise(steps)}
    assert gaps <= {10, 20}  # evenly spaced
    with Image.open(samples / "progress.gif") as gif:
        assert gif.size[0] == FRAME_WIDTH and gif.n_frames == MOST_FRAMES
