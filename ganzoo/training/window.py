"""The metric window: each step's losses stay on the device until the next log record.

Reading a value back from a GPU waits for the GPU, so the step writes its metric row into a
preallocated tensor and the host looks at the rows only every ``log_every`` steps (and before
a checkpoint). On several processes the rows are averaged over the ranks when they are read,
so every rank sees the same numbers and a NaN on one rank stops all of them at the same step.

A callback that wants every step's values reads :class:`StepMetrics` (``run.step_metrics``): the public,
read-only view of the last step's row, copied to the host only when it is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch

from .parallel.distributed import Group

__all__ = ["METRICS", "MetricWindow", "NonFinite", "StepMetrics"]

INITIAL_ROWS = 1024
"""Rows the window holds before it first grows: a record every 50 steps (the default) never grows it."""
METRICS = ("loss_d", "loss_g", "d_real", "d_fake")
"""The columns of a row: both losses, then the mean of sigmoid(D) on the real and on the fake batch."""


class StepMetrics(Mapping[str, float]):
    """One step's metrics, for callbacks: a read-only mapping of :data:`METRICS` to floats, and ``step``.

    ``run.step_metrics`` in ``on_step_end`` is the step just done (None before this session's first step).
    The stable contract: the keys are :data:`METRICS` (``loss_d``, ``loss_g``, ``d_real``, ``d_fake``) in that
    order; keys may be added in a later version, never renamed or removed; values are Python floats (NaN or
    infinite when the step diverged: the log record after it stops the run). The row is copied to the host on
    the first read, which waits for the device: on a GPU, read it only on the steps you use. Under torchrun
    it is this process's own values (the log records average the ranks).
    """

    __slots__ = ("_row", "_values", "step")

    def __init__(self, step: int, row: torch.Tensor):
        self.step = step
        """The step these values belong to (``run.step`` when it was made)."""
        self._row: torch.Tensor | None = row.detach().clone()  # the step may reuse its row's memory
        self._values: dict[str, float] | None = None

    def _read(self) -> dict[str, float]:
        if self._values is None:
            assert self._row is not None
            self._values = dict(zip(METRICS, (float(v) for v in self._row.tolist()), strict=True))
            self._row = None
        return self._values

    def __getitem__(self, key: str) -> float:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(METRICS)

    def __len__(self) -> int:
        return len(METRICS)

    def __repr__(self) -> str:
        return f"StepMetrics(step={self.step}, {self._read()})"


class NonFinite:
    """Where the first NaN or infinity of a window is: which metric, its value, and how many steps ago."""

    def __init__(self, metric: str, value: float, steps_ago: int):
        self.metric = metric
        self.value = value
        self.steps_ago = steps_ago


class MetricWindow:
    """Rows of :data:`METRICS` since the last record, and the images they cost."""

    def __init__(self, capacity: int, device: torch.device, group: Group):
        self.device = device
        self.group = group
        # room for a window of up to INITIAL_ROWS steps; a longer one grows it as it fills, so a huge
        # --log-every costs the memory of the steps it really holds, not of the number typed
        self.rows = torch.zeros(min(capacity, INITIAL_ROWS), len(METRICS), device=device)
        self.fill = 0
        self.synced = 0  # rows already averaged over the ranks
        self.images = 0

    def add(self, row: torch.Tensor, images: int) -> None:
        """Store one step's metrics (no host synchronisation)."""
        if self.fill == len(self.rows):  # doubling: a copy on the device now and then, never a read-back
            self.rows = torch.cat([self.rows, torch.zeros_like(self.rows)])
        self.rows[self.fill].copy_(row)
        self.fill += 1
        self.images += images

    def values(self) -> torch.Tensor:
        """The rows so far on the CPU, averaged over the ranks (every rank must call this together)."""
        if self.fill > self.synced:
            self.group.mean_(self.rows[self.synced : self.fill])
            self.synced = self.fill
        return self.rows[: self.fill].cpu()

    def first_non_finite(self, values: torch.Tensor) -> NonFinite | None:
        if self.fill == 0 or bool(torch.isfinite(values).all()):
            return None
        row, column = (int(i) for i in (~torch.isfinite(values)).nonzero()[0])
        return NonFinite(METRICS[column], float(values[row, column]), self.fill - row - 1)

    def take(self, values: torch.Tensor) -> tuple[list[float], int, int]:
        """The means of ``values`` (from :meth:`values`), the rows' count and the images they cost; the
        window starts again empty."""
        means = values.double().mean(dim=0).tolist()
        taken = (means, self.fill, self.images)
        self.fill = self.synced = 0
        self.images = 0
        return taken

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows[: self.fill].cpu(), "images": self.images}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        rows = state.get("rows")
        if rows is not None and len(rows):
            # room for the saved rows and as much again as now; add() grows it further if needed
            capacity = len(self.rows)
            self.rows = torch.zeros(len(rows) + capacity, len(METRICS), device=self.device)
            self.rows[: len(rows)] = rows.to(self.device)
            self.fill = self.synced = len(rows)
        self.images = int(state.get("images", 0))
