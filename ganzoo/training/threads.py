"""How many CPU threads torch uses for a run (``--threads``), and the one line that says when the CPU is oversubscribed.

torch starts as many intra-op threads as the machine has cores, whatever else runs there. On a
2-core machine with other work, a small model trained 15-30x slower with torch's default than with
one thread (the threads wait for each other at every operation), and the ETA swung by minutes
within one run with nothing to say why. ``--threads N`` sets the count; ``--threads auto`` chooses
it from the cores this process may run on (``os.sched_getaffinity``: a container's or a
``taskset``'s share, not the machine's count) less the work already running there (the one-minute
load average). The count is set before the data are loaded and the networks built.

The count is recorded: CPU reductions may round differently with another count, so a resumed run
keeps its own unless given another (like ``--compile``, it changes the rounding only), and exact
resume holds by default. The card's hardware row states it.

:class:`SpeedWatch` reads the log records' speed (evaluation time excluded, see
:mod:`.callbacks.snapshot_metrics`): when it falls far below what the first records showed, for two records in
a row, it says once, in one line, that the CPU is oversubscribed and what to do about it.
"""

from __future__ import annotations

import math
import os
from typing import Any

from ..errors import ConfigError
from ..ranges import NumberRange

__all__ = [
    "MAX_THREADS",
    "THREADS",
    "SpeedWatch",
    "apply_threads",
    "auto_threads",
    "available_cores",
    "choose_threads",
    "cpu_facts",
    "parse_threads",
]

MAX_THREADS = 1024
"""More torch threads than any machine ganzoo trains on offers; a larger number is a typo."""
THREADS = NumberRange(low=1, high=MAX_THREADS, integer=True)
"""The range of ``--threads`` (the option table declares it with this object)."""
SLOWDOWN = 4.0
"""A record this many times slower than the first ones is no hiccup: the issue's runs were 5-30x slower."""
FIRST_RECORDS = 3
"""The records whose best speed is the reference (the first may include warm-up)."""
SLOW_RECORDS = 2
"""Slow records in a row before the warning: one slow window may be a checkpoint or a sample grid."""


def parse_threads(value: Any) -> int | str | None:
    """``--threads``: None (torch's default), ``auto``, or a count held to :data:`THREADS` (the range the option
    table declares for it), with 'auto' named in the message."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        number = float(value.strip()) if isinstance(value, str) else value
        return int(THREADS.check("--threads", number))
    except (ValueError, ConfigError):
        raise ConfigError(f"--threads takes {THREADS.describe()} or 'auto', got {value!r}") from None


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def _load_average() -> float:
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):  # Windows
        return 0.0


def choose_threads(cores: int, load: float, processes: int = 1) -> int:
    """``auto``'s count: the cores not busy with other work (the load average, rounded), shared by this machine's
    training ``processes``; at least one."""
    free = cores - round(max(0.0, load))
    return max(1, min(cores, free) // max(1, processes))


def auto_threads(processes: int = 1) -> tuple[int, str]:
    """``auto``'s count on this machine now, and why, in words for the log and the card."""
    cores, load = available_cores(), _load_average()
    count = choose_threads(cores, load, processes)
    shared = f", shared by {processes} processes" if processes > 1 else ""
    return count, f"auto: {cores} core(s) available, load average {load:.1f}{shared}"


def apply_threads(request: int | str | None, processes: int = 1) -> tuple[int | None, str | None]:
    """Set torch's intra-op thread count as ``--threads`` asks; returns the count set (None: left at torch's
    default) and, for ``auto``, why that count."""
    import torch

    chosen = parse_threads(request)
    if chosen is None:
        return None, None
    reason = None
    if chosen == "auto":
        chosen, reason = auto_threads(processes)
    torch.set_num_threads(int(chosen))
    return int(chosen), reason


class SpeedWatch:
    """Watches a series of speeds (images/s per log record) for a fall far below the first records' best."""

    def __init__(self, slowdown: float = SLOWDOWN, first: int = FIRST_RECORDS, slow_in_a_row: int = SLOW_RECORDS):
        self.slowdown = slowdown
        self.first = first
        self.slow_in_a_row = slow_in_a_row
        self.seen: list[float] = []
        self.slow = 0
        self.warned = False

    @property
    def reference(self) -> float | None:
        """The best speed of the first records, once there are that many."""
        return max(self.seen[: self.first]) if len(self.seen) >= self.first else None

    def observe(self, speed: float) -> float | None:
        """Take one record's speed; returns the reference speed the first time the series has stayed far below it
        for :data:`SLOW_RECORDS` records in a row (and never again), else None."""
        if not speed > 0 or not math.isfinite(speed):
            return None
        self.seen.append(float(speed))
        reference = self.reference
        if reference is None or len(self.seen) <= self.first or self.warned:
            return None
        self.slow = self.slow + 1 if speed * self.slowdown <= reference else 0
        if self.slow >= self.slow_in_a_row:
            self.warned = True
            return reference
        return None


def oversubscribed_message(speed: float, reference: float, threads: int, cores: int, load: float) -> str:
    """The one line: what happened, the facts that explain it, and what to do."""
    return (
        f"the CPU is oversubscribed: training runs at {speed:,.0f} images/s, {reference / speed:.0f}x slower than the "
        f"{reference:,.0f} of its first steps ({threads} torch thread(s) on {cores} available core(s), load average "
        f"{load:.1f}); other work competes for the cores: train with --threads 1 (or --threads auto), or run fewer "
        "jobs at once"
    )


def cpu_facts() -> tuple[int, int, float]:
    """(torch threads, cores available to this process, load average): what the oversubscription line cites."""
    import torch

    return torch.get_num_threads(), available_cores(), _load_average()
