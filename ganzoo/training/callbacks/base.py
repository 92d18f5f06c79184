"""The extension point of the training loop: :class:`Callback` and the list that calls them in order.

Everything the loop does besides training is a callback: logs, progress, sample grids, checkpoints, Ctrl-C,
the export. The loop only calls them; a plugin adds its own through the ``register_callbacks`` hook.

A callback overrides any of four methods, each called with the :class:`.run.Run`:

* ``on_train_start(run)``: once, before the first step of this session (after a resume too);
* ``on_step_end(run)``: after every step (``run.step`` counts the steps done);
* ``on_train_end(run)``: once, when the run stops normally: ``run.outcome`` is ``"finished"`` or
  ``"interrupted"`` (Ctrl-C: the run continues with ``--resume``);
* ``teardown(run)``: always, last, also after an error: release what ``on_train_start`` took.

Callbacks run in order (:func:`run_callbacks`): the built-ins first (as listed in :func:`builtin_callbacks`), then
the ones asked for with ``--callback``, then the periodic checkpoint, so that a callback's saved state includes the
step it was saved at. Under torchrun every rank runs every callback (some of them
synchronise the ranks); only rank 0 writes files (``run.is_main``). A callback that sets
``run.outcome = "interrupted"`` in ``on_step_end`` stops the run after that step with a checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..run import Run

__all__ = ["Callback", "CallbackList"]


class Callback:
    """The base class of training callbacks: every method does nothing until overridden."""

    def on_train_start(self, run: Run) -> None:
        """Before the first step of this session."""

    def on_step_end(self, run: Run) -> None:
        """After each step."""

    def on_train_end(self, run: Run) -> None:
        """When the run stops normally (``run.outcome``: ``finished`` or ``interrupted``)."""

    def teardown(self, run: Run) -> None:
        """Always, last (also after an error)."""


class CallbackList:
    """Calls each event on every callback, in order; ``teardown`` reaches every callback even if one fails."""

    def __init__(self, callbacks: Sequence[Callback]):
        self.callbacks = list(callbacks)

    def on_train_start(self, run: Run) -> None:
        for callback in self.callbacks:
            callback.on_train_start(run)

    def on_step_end(self, run: Run) -> None:
        for callback in self.callbacks:
            callback.on_step_end(run)

    def on_train_end(self, run: Run) -> None:
        for callback in self.callbacks:
            callback.on_train_end(run)

    def teardown(self, run: Run) -> None:
        failure: BaseException | None = None
        for callback in reversed(self.callbacks):
            try:
                callback.teardown(run)
            except BaseException as error:  # every callback gets to release what it holds
                failure = failure or error
        if failure is not None:
            raise failure
