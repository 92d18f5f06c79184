"""``ganzoo train --tensorboard``: the log records and the fixed-noise grids as TensorBoard events.

The writer is ``torch.utils.tensorboard.SummaryWriter``, which needs the ``tensorboard`` package:
an optional extra (``pip install "ganzoo[tensorboard]"``), imported only when a run asks for it,
so ``import ganzoo``, ``ganzoo --help`` and ``ganzoo list`` never load it.

What is written, on rank 0 only:

* every log record (every ``--log-every`` steps): each number in it (both losses, the mean D(x) and
  D(G(z)), images/s, the epoch, and whatever a record gains later) at the record's step, and the
  learning rate of each optimizer as it is;
* every grid :class:`.callbacks.SampleGrids` saved (every ``--sample-every`` steps, and the final
  one) as the image ``samples``, read back from its PNG, so TensorBoard shows what the run folder has.

A resumed run continues the same curves: its writer opens with ``purge_step`` one past the
checkpoint's step, so whatever the interrupted session wrote after its last checkpoint (steps the
resumed run trains again) is hidden by TensorBoard instead of drawn twice. For that to lose
nothing, the events are flushed to disk before every checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...extras import EXTRA_HINT, require_tensorboard
from ..run import Run
from .base import Callback

__all__ = ["EXTRA_HINT", "TensorBoardLog", "require_tensorboard", "scalar_tags"]

TAGS = {
    "loss_d": "loss/D",
    "loss_g": "loss/G",
    "d_real": "D/real",
    "d_fake": "D/fake",
    "images_per_s": "speed/images_per_s",
    "epoch": "progress/epoch",
    **{key: f"eval/{key}" for key in ("fid", "kid_mean", "kid_std", "precision", "recall")},  # --eval-every's
    "eval_seconds": "eval/seconds",
}
"""TensorBoard tags of the log record's fields; any other number in a record is ``train/<field>``."""
NOT_CURVES = ("step", "time", "lr", "eval_samples")  # the x axis; from the optimizers; a constant


def scalar_tags(record: dict[str, Any]) -> dict[str, float]:
    """The curves of one log record, by tag."""
    return {
        TAGS.get(key, f"train/{key}"): float(value)
        for key, value in record.items()
        if key not in NOT_CURVES and isinstance(value, (int, float)) and not isinstance(value, bool)
    }


class TensorBoardLog(Callback):
    """Writes the run's curves and grids to ``run.config.tensorboard`` (nothing when that is None)."""

    def __init__(self) -> None:
        self.writer: Any = None
        self.logged = 0

    def on_train_start(self, run: Run) -> None:
        folder = run.config.tensorboard
        if folder is None or not run.is_main:
            return
        from ...io.files import make_folder

        writer_class = require_tensorboard()
        if run.paths.guard.contains(folder):  # inside the run folder: a link there must not lead the events out
            folder = run.paths.guard.check(folder)
        make_folder(folder, what="--tensorboard-dir")
        # events of steps after the checkpoint (an interrupted session's) are purged: they are trained again
        self.writer = writer_class(log_dir=str(folder), purge_step=run.step + 1)
        self.logged = len(run.counters.history)  # the records before the checkpoint were written then

    def on_step_end(self, run: Run) -> None:
        if self.writer is None:
            return
        self._records(run)
        if run.grid_due:
            self._grid(run.paths.sample_grid(run.step), run.step)
        if run.step % run.config.checkpoint_every == 0:
            self.writer.flush()  # before the checkpoint: a resumed run relies on what is written up to it

    def on_train_end(self, run: Run) -> None:
        if self.writer is None:
            return
        self._records(run)
        if run.outcome == "finished":
            self._grid(run.paths.final_samples, run.step)
        self.writer.flush()

    def teardown(self, run: Run) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _records(self, run: Run) -> None:
        history = run.counters.history
        for record in history[self.logged :]:
            step = int(record["step"])
            for tag, value in scalar_tags(record).items():
                self.writer.add_scalar(tag, value, step)
            for name, update in (("G", run.g_update), ("D", run.d_update)) if "fid" not in record else ():
                self.writer.add_scalar(f"lr/{name}", float(update.optimizer.param_groups[0]["lr"]), step)
        self.logged = len(history)

    def _grid(self, path: Path, step: int) -> None:
        import numpy as np

        from ...io.animation import load_frame

        pixels = np.asarray(load_frame(path), dtype=np.uint8)
        self.writer.add_image("samples", pixels, step, dataformats="HW" if pixels.ndim == 2 else "HWC")
