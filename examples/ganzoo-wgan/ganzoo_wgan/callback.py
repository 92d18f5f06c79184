"""``--callback wgan-steps-csv``: every step's losses in a CSV file of the run folder, with two options.

A Wasserstein critic's loss is an estimate of the distance between the real and the generated
data, so its curve, step by step, is worth more than the averages ganzoo's log keeps every
``--log-every`` steps. This callback reads ``run.step_metrics`` (each step's values, the
documented view) and writes one row every ``every`` steps to ``OUT/<file>``::

    ganzoo train wgan-gp-dcgan --dataset shapes-28 --callback wgan-steps-csv \\
        --callback-option wgan-steps-csv.every=5 --callback-option wgan-steps-csv.file=critic.csv

Its options are declared on its ``CallbackSpec`` (typed there, recorded in the run's
``config.json``, kept by ``--resume``); their ranges are checked here, in the constructor, with
a one-line ``ganzoo.ConfigError`` that names the option and the fix. A resumed run first drops
the rows written after its checkpoint (a ``kill -9`` between two checkpoints), so the file ends
as an uninterrupted run's would.
"""

from __future__ import annotations

import csv
import re

import ganzoo
from ganzoo.training import Callback

FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.csv$")
COLUMNS = ("loss_d", "loss_g", "d_real", "d_fake")
"""Keys of ``run.step_metrics``: ganzoo keeps these four and may only add others."""


class StepCSV(Callback):
    """One CSV row of ``run.step_metrics`` every ``every`` steps, in ``OUT/<file>``."""

    def __init__(self, every: int = 1, file: str = "steps.csv"):
        if every < 1:
            raise ganzoo.ConfigError(
                f"option every={every} of callback 'wgan-steps-csv' must be at least 1 (a row every N steps)"
            )
        if not FILE_NAME.match(file):
            raise ganzoo.ConfigError(
                f"option file={file!r} of callback 'wgan-steps-csv' must be a plain file name ending in .csv "
                "(letters, digits, '.', '_', '-'), e.g. file=critic.csv"
            )
        self.every = every
        self.file = file

    def on_train_start(self, run):
        if not run.is_main:  # under torchrun, only rank 0 writes
            return
        path = run.paths.out / self.file
        rows = []
        if path.exists():  # a resumed run: keep the rows up to its checkpoint's step
            with path.open(newline="", encoding="utf-8") as handle:
                rows = [row for row in csv.reader(handle)][1:]
            rows = [row for row in rows if row and int(row[0]) <= run.step]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", *COLUMNS])
            writer.writerows(rows)

    def on_step_end(self, run):
        if run.step % self.every != 0 or not run.is_main:
            return
        metrics = run.step_metrics
        with (run.paths.out / self.file).open("a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow([metrics.step, *(repr(metrics[key]) for key in COLUMNS)])
