"""The built-in callbacks: logs, progress, sample grids, checkpoints, Ctrl-C,
the export. The loop only calls them; a plugin adds its own through the ``register_callbacks`` hook.

A callback overrides any of four methods, each called with the :class:`.run.Run`:

* ``on_train_start(run)``: once, before the first step of this session (after a resume too);
* ``on_step_end(run)``: after every step (``run.step`` counts the steps done);
* ``on_train_end(run)``: once, when the run stops normally: ``run.outcome`` is ``"finished"`` or
  ``"interrupted"`` (Ctrl-C: the run continues with ``--resume``);
* ``teardown(run)``: always, last, also after an error: release what ``on_train_start`` took.

Callbacks run in order: the built-ins first (as listed in :func:`ganzoo.training.callbacks.builtin_callbacks`), then the
ones asked for with ``--callback``, then the periodic checkpoint (:class:`StepCheckpoints`). Under torchrun every
rank runs every callback (some of them synchronise the ranks); only rank 0 writes files (``run.is_main``). A callback
that sets ``run.outcome = "interrupted"`` in ``on_step_end`` stops the run after that step with a checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import torch

from ...errors import TrainingDivergedError
from ..checkpoint import save_checkpoint
from ..run import Run
from ..schedules import apply_schedules
from ..threads import SpeedWatch, cpu_facts, oversubscribed_message
from ..window import METRICS
from .base import Callback

__all__ = [
    "Checkpoints",
    "Export",
    "MetricLog",
    "Progress",
    "SampleGrids",
    "StepCheckpoints",
    "StopOnSignal",
    "raise_if_diverged",
]


def raise_if_diverged(run: Run, values: torch.Tensor) -> None:
    """Stop with :class:`TrainingDivergedError` when a metric of the window is NaN or infinite."""
    found = run.window.first_non_finite(values)
    if found is None:
        return
    step = run.step - found.steps_ago
    if run.last_checkpoint_step is not None:
        kept = f"the last good checkpoint, at step {run.last_checkpoint_step}, is kept in {run.paths.checkpoint}"
        again = "then continue with --resume"
    else:
        kept = "no checkpoint had been written yet"
        again = "then start again"
    advice = f"lower --lr (it is {run.config.lr:g})"
    if run.precision.name != "fp32":
        advice += " or use --precision fp32"
    raise TrainingDivergedError(f"{found.metric} became {found.value} at step {step}; {kept}; {advice}, {again}")


class MetricLog(Callback):
    """Every ``--log-every`` steps: one record of the window's means in the history, ``log.jsonl`` and the display."""

    def on_train_start(self, run: Run) -> None:
        self.window_start = time.perf_counter()
        self.evaluated_before = run.counters.evaluation_s  # --eval-every's time is left out of images/s
        if run.is_main:  # on resume, the log holds what the checkpoint knows, not steps done after it
            text = "".join(json.dumps(record) + "\n" for record in run.counters.history)
            self._write(run, "w", text)

    def on_step_end(self, run: Run) -> None:
        if run.log_due:
            self.flush(run)

    def on_train_end(self, run: Run) -> None:
        self.flush(run)

    @staticmethod
    def _write(run: Run, mode: str, text: str) -> None:
        """Append to (or start) the log; it grows a line at a time, so it is appended, not replaced."""
        from ...io.files import output_error

        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if mode == "w" else os.O_APPEND)
        try:  # opened in place, so through the guard: a log that is a link is refused, not followed
            with os.fdopen(run.paths.guard.open(run.paths.log, flags), "w", encoding="utf-8") as file:
                file.write(text)
        except OSError as error:
            raise output_error(run.paths.log, error, needed=len(text.encode()), at_least=True) from None

    def flush(self, run: Run) -> None:
        window = run.window
        if window.fill == 0:
            return
        values = window.values()
        raise_if_diverged(run, values)
        means, rows, images = window.take(values)
        now = time.perf_counter()
        elapsed = max(now - self.window_start - (run.counters.evaluation_s - self.evaluated_before), 1e-9)
        record = {
            "step": run.step,
            "epoch": run.epoch + 1,
            **{name: round(float(v), 6) for name, v in zip(METRICS, means, strict=True)},
            "images_per_s": round(images / elapsed, 1),
            "lr": run.train_step.g_update.optimizer.param_groups[0]["lr"],  # a --schedule moves it
            "time": round(run.counters.wall_before + (now - run.counters.session_start), 3),
        }
        if run.augmenter is not None and run.augmenter.policy.per_image:
            record["augment_p"] = round(run.augmenter.probability_for_log(), 5)  # p after this step
        run.counters.history.append(record)
        if run.is_main:
            self._write(run, "a", json.dumps(record) + "\n")
        steps_per_s = rows / elapsed
        eta = (run.total_steps - run.step) / steps_per_s if steps_per_s else None
        run.reporter.report(run.step, {**record, "eta_s": eta})
        self.window_start = time.perf_counter()
        self.evaluated_before = run.counters.evaluation_s


class Progress(Callback):
    """The progress display: a start line, the bar between log records, and closing it."""

    def on_train_start(self, run: Run) -> None:
        resolved, group = run.config, run.group
        title = f"{resolved.model} on {resolved.dataset}"
        if group.enabled:
            title += (
                f" on {group.world_size} processes (batch {run.batches.batch_size} per device, "
                f"global batch {run.batches.global_batch})"
            )
        run.reporter.start(run.total_steps, run.step, title)

    def on_step_end(self, run: Run) -> None:
        if not run.log_due and run.step % advance_every(run) == 0:
            run.reporter.advance(run.step)

    def teardown(self, run: Run) -> None:
        run.reporter.close()


def advance_every(run: Run) -> int:
    """How often the bar moves between records, and how often several processes agree on a Ctrl-C."""
    return max(1, min(10, run.config.log_every))


class SampleGrids(Callback):
    """Every ``--sample-every`` steps a grid of the fixed noise (scatter plots for 2-D data) and the curves."""

    def on_step_end(self, run: Run) -> None:
        if run.grid_due:
            self.save(run, run.paths.sample_grid(run.step))

    def on_train_end(self, run: Run) -> None:
        if run.outcome == "finished":
            self.save(run, run.paths.final_samples)

    @staticmethod
    def save(run: Run, path: Any) -> None:
        from ...io.imaging import save_samples
        from .plots import plot_curves

        if not run.is_main:
            return
        with run.sampling() as generator, run.precision.inference():
            images = generator(run.fixed.noise, run.fixed.labels)
        save_samples(images.float(), path, real=run.real_points, nrow=run.fixed.nrow, title=f"step {run.step}")
        if run.counters.history:
            plot_curves(run.counters.history, run.paths.curves)


class Checkpoints(Callback):
    """At the end (also after Ctrl-C) the full state, atomically; :class:`StepCheckpoints` writes the others."""

    def on_train_end(self, run: Run) -> None:
        self.save(run)

    @staticmethod
    def save(run: Run) -> None:
        from ..setup import checkpoint_state

        if run.window.fill:  # never checkpoint a diverged state over the last good one
            raise_if_diverged(run, run.window.values())
        state = checkpoint_state(run)
        if state is not None:
            save_checkpoint(run.paths.checkpoint, state)
        run.last_checkpoint_step = run.step


class StepCheckpoints(Callback):
    """Every ``--checkpoint-every`` steps the full state, atomically: the last callback of a step, after the run's own
    (``--callback``), so that a callback's state in the checkpoint holds that step, which a resume does not replay."""

    def on_step_end(self, run: Run) -> None:
        if run.step % run.config.checkpoint_every == 0 and not run.is_last_step:
            Checkpoints.save(run)


class StopOnSignal(Callback):
    """Ctrl-C (SIGINT) and SIGTERM (what ``kill``, systemd, Kubernetes and SLURM send before a kill) stop the
    run after the current step, with a checkpoint; the same signal again stops it at once."""

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def on_train_start(self, run: Run) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # Python delivers signals to the main thread only
        for name in self.SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                self._previous[number] = signal.getsignal(number)
                signal.signal(number, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum
        previous = self._previous.get(signum)
        if signum == signal.SIGINT and previous in (None, signal.SIG_DFL):
            previous = signal.default_int_handler
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)

    def on_step_end(self, run: Run) -> None:
        if run.is_last_step:
            return
        requested = self.received is not None
        if run.group.enabled:  # the processes agree every few steps (one tiny all-reduce)
            stop = run.step % advance_every(run) == 0 and run.group.any(requested)
        else:
            stop = requested
        if stop:
            run.outcome = "interrupted"
            run.stopped_by = self.received if self.received is not None else signal.SIGTERM

    def on_train_end(self, run: Run) -> None:
        if run.outcome == "interrupted" and run.is_main and run.stopped_by is not None:
            name = "Ctrl-C" if run.stopped_by == signal.SIGINT else signal.Signals(run.stopped_by).name
            run.reporter.close()
            run.reporter.message(
                f"stopped by {name} at step {run.step}; checkpoint saved to {run.paths.checkpoint}; "
                "continue with --resume"
            )

    def teardown(self, run: Run) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()


class Export(Callback):
    """At the end of a finished run: the final metrics and the export folder (weights, config, card)."""

    def on_train_end(self, run: Run) -> None:
        from ..artifacts import export_run

        if run.outcome == "finished":
            export_run(run)


class ApplySchedules(Callback):
    """Sets the ``--schedule`` settings for the next step: before the first (a resumed run's too) and after each."""

    def on_train_start(self, run: Run) -> None:
        apply_schedules(run)

    def on_step_end(self, run: Run) -> None:
        apply_schedules(run)


class CpuSpeedWatch(Callback):
    """On the CPU: after each log record, its speed goes to a :class:`SpeedWatch`; a fall is said once, as a
    notice (shown even with ``--quiet``, kept in the export's ``config.json``)."""

    def __init__(self, facts: Callable[[], tuple[int, int, float]] | None = None) -> None:
        self.facts = facts or cpu_facts
        self.watch = SpeedWatch()
        self.seen = 0

    def on_train_start(self, run: Run) -> None:
        self.seen = len(run.counters.history)  # a resumed run's own speeds start anew

    def on_step_end(self, run: Run) -> None:
        history = run.counters.history
        if run.device.type != "cpu" or len(history) == self.seen:
            return
        for record in history[self.seen :]:
            speed = record.get("images_per_s")
            if speed is None:
                continue  # an evaluation's record
            reference = self.watch.observe(float(speed))
            if reference is not None:
                threads, cores, load = self.facts()
                run.notice(oversubscribed_message(float(speed), reference, threads, cores, load))
        self.seen = len(history)
