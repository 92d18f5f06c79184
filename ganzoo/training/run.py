"""A training run's state, declared in one place: what the loop, its callbacks and the checkpoint share.

:func:`.setup.build_run` makes a :class:`Run` from a request; the loop advances ``step``; the
callbacks (:mod:`.callbacks`) read it to write samples, logs, checkpoints and the export. The
checkpoint is the composition of the ``state_dict()`` of every part :meth:`Run.stateful_parts`
names, so a new stateful part (an EMA copy, an augmentation probability) adds one entry there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..cards.folder import CONFIG_NAME, PROGRESS_NAME
from ..io.folderguard import FolderGuard
from ..models.device import Precision
from .config import ResolvedConfig
from .parallel.distributed import Group
from .practices import Practices
from .practices.augment import Augmenter
from .practices.ema import GeneratorEMA
from .progress_bar import Reporter
from .record import equivalent_command
from .step import AdversarialStep, Optimisation
from .streams import BatchStream, FixedSamples, GlobalRandomState, NoiseStream
from .window import MetricWindow, StepMetrics

__all__ = ["Counters", "Notices", "Run", "RunPaths", "callback_name", "equivalent_command"]


@dataclass(frozen=True)
class RunPaths:
    """Where a run keeps its files under ``OUT``: every entry is named through the run folder's
    :class:`~ganzoo.io.folderguard.FolderGuard`, so a link that leads out of the folder is refused, not followed."""

    out: Path

    @property
    def guard(self) -> FolderGuard:
        return FolderGuard(self.out, what="run folder")

    @property
    def checkpoint(self) -> Path:
        return self.guard.path("checkpoints", "last.pt")

    @property
    def best_checkpoint(self) -> Path:
        """The checkpoint of the lowest FID so far (``--eval-every``, :mod:`.callbacks.snapshot_metrics`)."""
        return self.guard.path("checkpoints", "best.pt")

    @property
    def best_export(self) -> Path:
        return self.guard.path("export-best")

    @property
    def best_samples(self) -> Path:
        return self.guard.path("samples", "best.png")

    @property
    def samples(self) -> Path:
        return self.guard.path("samples")

    @property
    def final_samples(self) -> Path:
        return self.guard.path("samples", "final.png")

    @property
    def progress(self) -> Path:
        """The animation of the grids so far (:mod:`.progress_gif`)."""
        return self.guard.path("samples", PROGRESS_NAME)

    def sample_grid(self, step: int) -> Path:
        """The grid of the fixed noise at ``step`` (written every ``--sample-every`` steps)."""
        return self.guard.path("samples", f"step_{step:06d}.png")

    def sample_grids(self) -> list[tuple[int, Path]]:
        """``(step, grid)`` of every step grid in ``samples/``, in step order."""
        return grid_files(self.samples)

    @property
    def log(self) -> Path:
        return self.guard.path("log.jsonl")

    @property
    def curves(self) -> Path:
        return self.guard.path("curves.png")

    @property
    def export(self) -> Path:
        return self.guard.path("export")

    def entries(self) -> list[Path]:
        """Every entry the run reads or writes, each named through the guard: called before any work, it
        refuses a link out of the folder there and then, in one line naming it."""
        named = [self.checkpoint, self.final_samples, self.progress, self.log, self.curves, self.export,
                 self.best_checkpoint, self.best_export, self.best_samples]
        return named + [grid for _, grid in self.sample_grids()]

    def has_run(self) -> bool:
        """A checkpoint or an export: something a fresh start would lose. A folder with only the log and
        grids of a run that stopped before its first checkpoint holds nothing that can be continued."""
        return self.checkpoint.exists() or (self.export / CONFIG_NAME).exists()

    def has_leftovers(self) -> bool:
        return self.log.exists() or self.samples.is_dir()

    def stale_temporaries(self) -> list[Path]:
        """Temporary files of ganzoo's writes that were killed (see :func:`ganzoo.io.files.is_temporary`), in the
        folders the run writes; found without following links, never outside the run folder."""
        folders = (self.out, self.out / "checkpoints", self.out / "samples", self.out / "export")
        return self.guard.temporaries(folders)


class Notices:
    """One-line notes the user must see (even with --quiet), kept for the export's config.json.

    The streams hold its :meth:`say` to report a state they could not restore; it does not refer back
    to the run, so the run's parts form no reference cycle and are freed as soon as the run is.
    """

    def __init__(self, reporter: Reporter, is_main: bool):
        self.reporter = reporter
        self.is_main = is_main
        self.lines: list[str] = []

    def say(self, text: str) -> None:
        self.lines.append(text)
        if self.is_main:
            self.reporter.message(f"note: {text}")


_GRID = re.compile(r"step_(\d+)\.png")


def grid_files(samples: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of the step grids (:meth:`RunPaths.sample_grid`) in the folder ``samples``; a grid
    that is a link out of the folder is refused (:class:`~ganzoo.io.folderguard.FolderGuard`), not read."""
    if not samples.is_dir():
        return []
    guard = FolderGuard(samples, what="samples folder")
    found = [(int(m.group(1)), guard.check(samples / p.name)) for p in samples.iterdir()
             if (m := _GRID.fullmatch(p.name))]
    return sorted(found)


@dataclass
class Counters:
    """How far the run has come: steps, images, wall time over all sessions, and the log records."""

    step: int = 0
    images_seen: int = 0
    wall_before: float = 0.0
    """Seconds of the sessions before this one (a resumed run)."""
    history: list[dict[str, Any]] = field(default_factory=list)
    session_start: float = field(default_factory=time.perf_counter)
    session_start_step: int = 0
    session_start_images: int = 0
    evaluation_s: float = 0.0
    """Seconds of ``--eval-every`` evaluations, all sessions: part of the wall time, left out of images/s."""

    def training_time(self) -> float:
        """The wall time less the evaluations': what the run's images/s is measured over."""
        return max(self.wall_time() - self.evaluation_s, 0.0)

    def wall_time(self) -> float:
        return self.wall_before + (time.perf_counter() - self.session_start)

    def start_session(self) -> None:
        self.session_start = time.perf_counter()
        self.session_start_step = self.step
        self.session_start_images = self.images_seen

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "images_seen": self.images_seen,
            "wall_time_s": self.wall_time(),
            "history": list(self.history),
            "evaluation_s": self.evaluation_s,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.step = int(state["step"])
        self.images_seen = int(state.get("images_seen", 0))
        self.wall_before = float(state.get("wall_time_s", 0.0))
        self.history = list(state.get("history", []))
        self.evaluation_s = float(state.get("evaluation_s", 0.0))


@dataclass
class Run:
    """Everything one training run holds. Fields are set once by :func:`.setup.build_run`, except the
    counters, the window and the streams, which the loop advances."""

    config: ResolvedConfig
    paths: RunPaths
    group: Group
    precision: Precision
    reporter: Reporter
    data: Any
    """The loaded :class:`ganzoo.data.SampleSet` (after ``--limit``)."""
    model_config: dict[str, Any]
    generator: nn.Module
    discriminator: nn.Module
    loss: Any
    g_update: Optimisation
    d_update: Optimisation
    batches: BatchStream
    noise: NoiseStream
    global_rng: GlobalRandomState
    fixed: FixedSamples
    train_step: AdversarialStep
    window: MetricWindow
    total_steps: int
    commands: list[str]
    cpu_allocator: str | None = None
    counters: Counters = field(default_factory=Counters)
    real_points: torch.Tensor | None = None
    """Real 2-D points drawn under the fakes in scatter plots (``None`` for images)."""
    last_checkpoint_step: int | None = None
    outcome: str = "running"
    """``running``; then ``finished``, ``interrupted`` or ``failed`` when callbacks hear ``on_train_end``."""
    stopped_by: int | None = None
    """The signal that stopped an interrupted run (``signal.SIGINT``, ``SIGTERM``); None when a callback did."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """The final metrics, filled in at the end of a finished run."""
    wall_time_s: float | None = None
    """Training time over all sessions, when the run finished."""
    callbacks: list[Any] = field(default_factory=list)
    """The callbacks added to the built-in ones (``--callback NAME`` and ``Trainer(callbacks=...)``)."""
    lock: Any = None
    """The run folder's :class:`.runlock.RunFolderLock` (rank 0), held until the run ends."""
    notices: Notices | None = None
    """Set-up and resume notes (see :class:`Notices`); made from the reporter when not given."""
    practices: Practices = field(default_factory=Practices)
    """EMA, augmentation and R1/R2 settings (:mod:`.practices`)."""
    ema: GeneratorEMA | None = None
    """The generator's moving average, when the run keeps one (``--ema``)."""
    augmenter: Augmenter | None = None
    """D's augmentation (``--augment``), with ADA's ``p``."""
    threads: int | None = None
    """torch's CPU thread count that ``--threads`` set (None: torch's default was kept)."""
    step_metrics: StepMetrics | None = None
    """The last step's metrics (:class:`.window.StepMetrics`, a read-only mapping): what a callback reads in
    ``on_step_end`` for every step's losses; None before this session's first step."""

    # ------------------------------------------------------------------ shortcuts for callbacks
    @property
    def step(self) -> int:
        return self.counters.step

    @property
    def device(self) -> torch.device:
        return self.group.device

    @property
    def is_main(self) -> bool:
        """Rank 0, the only process that writes files."""
        return self.group.is_main

    @property
    def is_last_step(self) -> bool:
        return self.counters.step >= self.total_steps

    @property
    def log_due(self) -> bool:
        """A log record is due after this step (every ``--log-every`` steps, and after the last)."""
        return self.counters.step % self.config.log_every == 0 or self.is_last_step

    @property
    def grid_due(self) -> bool:
        """A sample grid is due after this step (every ``--sample-every`` steps; the last step's is the final
        grid, which ``on_train_end`` writes)."""
        return self.counters.step % self.config.sample_every == 0 and not self.is_last_step

    @property
    def sampler(self) -> nn.Module:
        """The generator that sample grids, the export's metrics and ``ganzoo eval`` use: the EMA when kept."""
        return self.ema.module if self.ema is not None else self.generator

    @contextmanager
    def sampling(self) -> Iterator[nn.Module]:
        """:attr:`sampler` in eval mode (BatchNorm's running statistics), in its former mode afterwards."""
        sampler = self.sampler
        was_training = sampler.training
        sampler.eval()
        try:
            yield sampler
        finally:
            sampler.train(was_training)

    @property
    def conditional(self) -> bool:
        return bool(self.config.spec.conditional)

    @property
    def epoch(self) -> int:
        return self.batches.epoch

    def epochs_done(self) -> float:
        return round(self.counters.images_seen / (self.batches.batches_per_epoch * self.batches.global_batch), 3)

    def __post_init__(self) -> None:
        if self.notices is None:
            self.notices = Notices(self.reporter, self.group.is_main)

    def notice(self, text: str) -> None:
        """Say something the user must know in one line (even with --quiet), and keep it for the export."""
        assert self.notices is not None
        self.notices.say(text)

    # ------------------------------------------------------------------ the checkpoint's parts
    def stateful_parts(self) -> dict[str, Any]:
        """The parts whose ``state_dict()`` the checkpoint stores, by name; a callback with a ``state_dict()``
        is one too, as ``callback:NAME``."""
        parts = {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "g_update": self.g_update,
            "d_update": self.d_update,
            "batches": self.batches,
            "noise": self.noise,
            "global_rng": self.global_rng,
            "fixed_samples": self.fixed,
            "window": self.window,
            "counters": self.counters,
        }
        if self.ema is not None:
            parts["ema"] = self.ema
        if self.augmenter is not None:
            parts["augment"] = self.augmenter
        for callback in self.callbacks:
            if hasattr(callback, "state_dict") and hasattr(callback, "load_state_dict"):
                parts[f"callback:{callback_name(callback)}"] = callback
        return parts


def callback_name(callback: Any) -> str:
    """The registered name of a callback (``--callback NAME``), else its class name."""
    return str(getattr(callback, "registered_name", None) or type(callback).__name__)
