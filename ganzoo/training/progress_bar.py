"""How a run shows its progress: a rich progress bar on a terminal, plain lines in logs, or nothing.

The trainer calls :meth:`Reporter.advance` every few steps (cheap: no device sync) and
:meth:`Reporter.report` when it has synchronised fresh metrics; each display decides what
to do with them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

__all__ = ["PlainReporter", "Reporter", "RichReporter", "format_duration", "make_reporter"]


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Reporter:
    """The silent display, and the interface of the others: shows nothing (other ranks than 0 use it)."""

    def start(self, total: int, initial: int, title: str) -> None:
        pass

    def advance(self, step: int) -> None:
        pass

    def report(self, step: int, metrics: Mapping[str, Any]) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class PlainReporter(Reporter):
    """One line per report, at most every ``interval`` seconds (plus the first and the last)."""

    def __init__(self, stream: TextIO | None = None, interval: float = 5.0):
        self.stream = stream or sys.stderr
        self.interval = interval
        self.total = 0
        self._last = float("-inf")

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, total: int, initial: int, title: str) -> None:
        self.total = total
        where = f" from step {initial}" if initial else ""
        self._write(f"{title}: {total} steps{where}")

    def report(self, step: int, metrics: Mapping[str, Any]) -> None:
        now = time.monotonic()
        if step < self.total and now - self._last < self.interval:
            return
        self._last = now
        ips = metrics.get("images_per_s") or 0.0
        eta = metrics.get("eta_s")
        self._write(
            f"step {step}/{self.total} ({100 * step / max(self.total, 1):.0f}%) epoch {metrics.get('epoch', 0)} "
            f"loss_d {metrics.get('loss_d', float('nan')):.4f} loss_g {metrics.get('loss_g', float('nan')):.4f} "
            f"D(x) {metrics.get('d_real', float('nan')):.3f} D(G(z)) {metrics.get('d_fake', float('nan')):.3f} "
            f"{ips:,.0f} img/s" + (f" ETA {format_duration(eta)}" if eta is not None else "")
        )

    def message(self, text: str) -> None:
        self._write(text)


class RichReporter(Reporter):
    """A live rich progress bar on stderr: step/total, epoch, both losses, images/s and ETA."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.console = Console(stderr=True)
        # narrow enough for an 80-column terminal: rich truncates columns that do not fit
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("ep {task.fields[epoch]}  D {task.fields[loss_d]}  G {task.fields[loss_g]}"),
            TextColumn("{task.fields[ips]} img/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            refresh_per_second=4,
        )
        self.task: Any = None

    def start(self, total: int, initial: int, title: str) -> None:
        where = f" from step {initial}" if initial else ""
        self.console.print(f"{title}: {total} steps{where}", highlight=False)
        self.progress.start()
        self.task = self.progress.add_task(
            "training", total=total, completed=initial, epoch="-", loss_d="-", loss_g="-", ips="-"
        )

    def advance(self, step: int) -> None:
        self.progress.update(self.task, completed=step)

    def report(self, step: int, metrics: Mapping[str, Any]) -> None:
        self.progress.update(
            self.task,
            completed=step,
            epoch=metrics.get("epoch", "-"),
            loss_d=f"{metrics.get('loss_d', float('nan')):.2f}",
            loss_g=f"{metrics.get('loss_g', float('nan')):.2f}",
            ips=f"{metrics.get('images_per_s') or 0:,.0f}",
        )

    def message(self, text: str) -> None:
        self.progress.console.print(text, highlight=False, markup=False)

    def close(self) -> None:
        self.progress.stop()


class QuietReporter(Reporter):
    """``--quiet``: no progress, but the one-line messages a user must see (Ctrl-C, resume notes) on stderr."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr

    def message(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def make_reporter(quiet: bool, stream: TextIO | None = None, *, main: bool = True) -> Reporter:
    """Not rank 0: nothing; quiet: messages only; stderr a terminal: a progress bar; otherwise plain lines."""
    if not main:
        return Reporter()
    stream = stream or sys.stderr
    if quiet:
        return QuietReporter(stream)
    if getattr(stream, "isatty", lambda: False)():
        return RichReporter()
    return PlainReporter(stream)
