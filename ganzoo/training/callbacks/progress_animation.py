"""``samples/progress.gif``: the fixed-noise grids of a run, one frame each, as an animation.

The frames are the grids :class:`.callbacks.SampleGrids` saved (``samples/step_NNNNNN.png``, then
``final.png``), read back from disk each time the animation is rewritten, not kept in memory or
in the checkpoint. So what the animation shows is what survives on disk: a resumed run (after
Ctrl-C, a kill or a crash) extends the frames of the sessions before it, and a grid written after
the last checkpoint by a session that was then killed is left out until the resumed run reaches
that step again and writes it anew (every frame's step is at most the run's step).

Every frame shows the same noise (the run's fixed samples) and its step in a caption; see
:mod:`ganzoo.io.animation` for the frame rate (at most ten seconds, the last frame held). A long run
keeps :data:`MOST_FRAMES` evenly spaced frames at most, each at most :data:`FRAME_WIDTH` pixels wide,
so the file stays a few megabytes whatever the run's length and image size.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ...cards.folder import PROGRESS_NAME
from ..run import Run, grid_files
from .base import Callback

__all__ = ["PROGRESS_NAME", "ProgressGif", "progress_frames", "write_progress_gif"]

MOST_FRAMES = 100
"""Frames of the animation at most (10 s at 100 ms a frame)."""
FRAME_WIDTH = 512
"""Frames wider than this (a 128x128 grid is 1,042 pixels) are scaled down to it."""


def progress_frames(samples: Path, up_to: int, final: Path | None = None) -> list[tuple[int, Path]]:
    """``(step, grid)`` of every ``step_N.png`` in ``samples`` with ``N <= up_to``, in order; then ``final``
    (the grid at the end of a finished run) at step ``up_to``."""
    frames = [(step, path) for step, path in grid_files(samples) if step <= up_to]
    if final is not None and final.is_file():
        frames = [frame for frame in frames if frame[0] < up_to] + [(up_to, final)]
    return frames


class FrameCache:
    """Captioned, paletted frames by file, so rewriting the animation decodes only the grids that are new or
    changed; it keeps only the frames the last animation used."""

    def __init__(self) -> None:
        self._frames: dict[tuple[str, int], tuple[tuple[int, int], Image.Image]] = {}

    def get(self, step: int, path: Path) -> Image.Image:
        from ...io.animation import caption, fit_width, load_frame, paletted

        stat = path.stat()
        key, stamp = (str(path), step), (stat.st_mtime_ns, stat.st_size)
        cached = self._frames.get(key)
        if cached is None or cached[0] != stamp:
            cached = (stamp, paletted(caption(fit_width(load_frame(path), FRAME_WIDTH), f"step {step:,}")))
            self._frames[key] = cached
        return cached[1]

    def keep_only(self, frames: list[tuple[int, Path]]) -> None:
        wanted = {(str(path), step) for step, path in frames}
        for key in self._frames.keys() - wanted:
            del self._frames[key]


def write_progress_gif(
    samples: Path, up_to: int, *, final: Path | None = None, cache: FrameCache | None = None
) -> Path | None:
    """Rewrite ``samples/progress.gif`` from the grids there (see :func:`progress_frames`); None when there
    are none yet. The step of every frame is also in the GIF's comment (``steps 500,1000,...``)."""
    from ...io.animation import frame_durations, pick_frames, save_gif

    frames = progress_frames(samples, up_to, final)
    if not frames:
        return None
    frames = [frames[i] for i in pick_frames(len(frames), hold_last=True, most=MOST_FRAMES)]
    cache = cache or FrameCache()
    images = [cache.get(step, path) for step, path in frames]
    cache.keep_only(frames)
    comment = "steps " + ",".join(str(step) for step, _ in frames)
    return save_gif(images, samples / PROGRESS_NAME, durations=frame_durations(len(images), hold_last=True),
                    comment=comment)


class ProgressGif(Callback):
    """After each sample grid (and the final one), ``samples/progress.gif`` with one frame per grid so far."""

    def __init__(self) -> None:
        self.cache = FrameCache()

    def on_step_end(self, run: Run) -> None:
        if run.is_main and run.grid_due:
            write_progress_gif(run.paths.samples, run.step, cache=self.cache)

    def on_train_end(self, run: Run) -> None:
        if run.is_main and run.outcome == "finished":
            write_progress_gif(run.paths.samples, run.step, final=run.paths.final_samples, cache=self.cache)
