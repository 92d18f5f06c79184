"""The adversarial training loop: a :class:`Trainer` runs the steps of a :class:`.run.Run` and calls the callbacks.

The parts, each in its own module:

* :mod:`.setup` turns a request into a run: registry lookup, data, networks, DDP, optimizers, streams,
  and the restored checkpoint on ``--resume``;
* :mod:`.streams` holds the tensor-resident batches and the noise, each with its own seeded generator;
* :mod:`.step` is one adversarial step (``d_steps`` D updates, one G update, precision, reuse-fakes);
* :mod:`.window` keeps the step's metrics on the device until the next log record;
* :mod:`.callbacks` does everything else: log, progress, sample grids, checkpoints, Ctrl-C, the export
  (:mod:`.artifacts`);
* :mod:`.checkpoint` writes the composition of the parts' ``state_dict()``.

Everything random comes from generators that the checkpoint stores, so on a CPU a run that is
interrupted and resumed ends with exactly the weights of an uninterrupted one. Under ``torchrun``
the same loop runs on every process (see :mod:`.distributed`); only rank 0 writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cards.folder import CARD_NAME
from ..errors import DiskFullError, OutputError
from .callbacks import Callback, CallbackList, run_callbacks
from .config import TrainConfig
from .parallel.distributed import Group, setup
from .progress_bar import Reporter
from .run import Run, RunPaths, equivalent_command
from .setup import build_run
from .window import StepMetrics

__all__ = ["RunPaths", "TrainResult", "Trainer", "TrainingStopped", "equivalent_command", "train"]


class TrainingStopped(KeyboardInterrupt):
    """The run stopped early with a checkpoint (Ctrl-C, SIGTERM or a callback); ``--resume`` continues it.

    A ``KeyboardInterrupt``, so code that stops on Ctrl-C keeps doing so; ``exit_code`` is what a shell
    expects of a process ended by that signal (130 for Ctrl-C, 143 for SIGTERM).
    """

    def __init__(self, step: int, signum: int | None):
        super().__init__(f"stopped at step {step}")
        self.step = step
        self.signum = signum
        self.exit_code = 128 + (signum if signum is not None else 2)


@dataclass
class TrainResult:
    """What a finished run produced and how it went."""

    out: Path
    export_dir: Path
    checkpoint: Path
    samples_dir: Path
    final_samples: Path
    card: Path
    log: Path
    curves: Path
    model: str
    dataset: str
    steps: int
    start_step: int
    epochs: float
    images_seen: int
    wall_time_s: float
    images_per_s: float
    metrics: dict[str, Any] = field(default_factory=dict)
    world_size: int = 1
    """Processes that trained together (``torchrun`` / ``--nproc``); 1 for an ordinary run."""
    rank: int = 0
    global_batch_size: int = 0
    """``--batch-size`` (per device) times ``world_size``."""

    @classmethod
    def of(cls, run: Run) -> TrainResult:
        paths = run.paths
        return cls(
            out=paths.out,
            export_dir=paths.export,
            checkpoint=paths.checkpoint,
            samples_dir=paths.samples,
            final_samples=paths.final_samples,
            card=paths.export / CARD_NAME,
            log=paths.log,
            curves=paths.curves,
            model=run.config.model,
            dataset=run.config.dataset,
            steps=run.step,
            start_step=run.counters.session_start_step,
            epochs=run.epochs_done(),
            images_seen=run.counters.images_seen,
            wall_time_s=run.wall_time_s if run.wall_time_s is not None else run.counters.wall_time(),
            images_per_s=float(run.metrics.get("images_per_s", 0.0)),
            metrics=dict(run.metrics),
            world_size=run.group.world_size,
            rank=run.group.rank,
            global_batch_size=run.batches.global_batch,
        )


class Trainer:
    """Trains one model as ``config`` asks; :meth:`run` returns a :class:`TrainResult`.

    ``callbacks`` run after the built-in ones (see :mod:`.callbacks`); ``--callback NAME`` adds
    registered ones the same way.
    """

    def __init__(
        self, config: TrainConfig, *, reporter: Reporter | None = None, callbacks: Sequence[Callback] = ()
    ):
        self.request = config
        self.reporter = reporter
        self.extra_callbacks = list(callbacks)
        self._state: Run | None = None
        self.group: Group | None = None

    def prepare(self) -> Trainer:
        """Check the request, load the data, build the networks and restore a checkpoint (once)."""
        if self._state is None:
            try:
                self.group = setup(self.request.device, self.request.dist_timeout)
                with self.group.failures_explained():
                    self._state = build_run(self.request, self.group, self.reporter, self.extra_callbacks)
            except BaseException:
                self._shutdown()
                raise
        return self

    @property
    def state(self) -> Run:
        """The prepared :class:`.run.Run` (prepares it on first use)."""
        self.prepare()
        assert self._state is not None
        return self._state

    def close(self) -> None:
        """Release the run folder's lock and the process group: for code that prepared a trainer and stepped
        :attr:`state` itself instead of calling :meth:`run` (which closes on its own)."""
        self._shutdown()

    def _shutdown(self) -> None:
        if self._state is not None and self._state.lock is not None:
            self._state.lock.release()  # another process may continue this run folder now
        if self.group is not None:
            self.group.shutdown()

    def run(self) -> TrainResult:
        """Train to the last step: callbacks write samples, logs and checkpoints, and the export at the end."""
        try:
            run = self.state
            with run.group.failures_explained():
                self._train(run, CallbackList(run_callbacks(run.callbacks)))
            if run.outcome == "interrupted":
                raise TrainingStopped(run.step, run.stopped_by)
            return TrainResult.of(run)
        finally:
            self._shutdown()

    @staticmethod
    def _train(run: Run, callbacks: CallbackList) -> None:
        counters, window, train_step = run.counters, run.window, run.train_step
        counters.start_session()
        try:
            callbacks.on_train_start(run)
            while counters.step < run.total_steps and run.outcome == "running":
                row = train_step(counters.step)
                window.add(row, train_step.images)
                counters.step += 1
                counters.images_seen += train_step.images
                run.step_metrics = StepMetrics(counters.step, row)
                callbacks.on_step_end(run)
            if run.outcome == "running":
                run.outcome = "finished"
            callbacks.on_train_end(run)
        except OutputError as error:  # a file could not be written (a full disk, say): what the user can do
            run.outcome = "failed"
            raise _with_resume_advice(run, error) from None
        except BaseException:
            run.outcome = "failed"
            raise
        finally:
            callbacks.teardown(run)

    # the parts, for code that inspects a prepared trainer (tests, notebooks)
    @property
    def generator(self) -> Any:
        return self.state.generator

    @property
    def discriminator(self) -> Any:
        return self.state.discriminator

    @property
    def d_steps(self) -> int:
        return self.state.train_step.d_steps


def _with_resume_advice(run: Run, error: OutputError) -> OutputError:
    """The same one-line error, ending with what continues the run (files are written atomically, so the last
    checkpoint is whole)."""
    if run.last_checkpoint_step is not None:
        advice = (f"the last good checkpoint, at step {run.last_checkpoint_step}, is kept in {run.paths.checkpoint}: "
                  "make room, then continue with --resume")
    else:
        advice = "no checkpoint had been written yet: make room, then start again"
    message = f"cannot write {error.path}: {error.problem}; {advice}"
    if isinstance(error, DiskFullError):
        return DiskFullError(message, path=error.path, problem=error.problem, needed=error.needed, free=error.free)
    return OutputError(message, path=error.path, problem=error.problem)


def train(config: TrainConfig, *, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """Train as ``config`` asks: samples, curves, log and checkpoints under ``config.out``, then an export."""
    return Trainer(config, callbacks=callbacks).run()
