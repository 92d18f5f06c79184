"""How much memory a request may use: measured before anything is allocated, refused in one line.

A number on the command line (``ganzoo sample -n 3000000``, ``eval --image-size 20000``) or a
size in a file (an image whose header says 20000x20000 pixels) can ask for more memory than
the machine has. Left to the allocator, that ends in a ``MemoryError`` traceback from deep
inside numpy or torch, or in the kernel's out-of-memory killer, and the message (when there
is one) blames whatever code happened to allocate. So every place that sizes an allocation
from such a number estimates the bytes first and calls :func:`require_memory`, which compares
them with :func:`available_memory` and refuses with a :class:`~ganzoo.errors.MemoryLimitError`
that names the option (or the file), the need, what is available and the fix.

The estimates count what the request itself must hold at once (the samples, a picture, the
decoded images, the features); they are lower bounds, so what is refused certainly cannot
fit, and what passes may still meet a library's own overhead.

Only the standard library is imported: the CLI may check a request before importing torch.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import MemoryLimitError
from .files import describe_size

__all__ = ["available_memory", "require_memory"]

_UNLIMITED = 1 << 60
"""Limits above this are "no limit" (cgroup v1 writes 2**63 rounded to a page; ``ulimit`` infinity)."""


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _meminfo_available() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` (free memory plus what the kernel can reclaim), in bytes."""
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    return None


def _sysconf_available() -> int | None:
    """Free physical pages times the page size (systems without ``/proc/meminfo``)."""
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        page = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return pages * page if pages > 0 and page > 0 else None


def _cgroup_headroom() -> int | None:
    """What this process's memory cgroup (v2, else v1) still allows, when it sets a limit."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        limit = _read_int(limit_file)  # "max" (v2's no limit) is not a number: None
        if limit is None or limit >= _UNLIMITED:
            continue
        usage = _read_int(usage_file) or 0
        return max(0, limit - usage)
    return None


def _address_space_headroom() -> int | None:
    """What ``ulimit -v`` (``RLIMIT_AS``) still allows this process to map, when it is set."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, OSError, ValueError):
        return None
    if limit == resource.RLIM_INFINITY or limit < 0 or limit >= _UNLIMITED:
        return None
    try:
        with open("/proc/self/status", encoding="ascii") as file:
            size = next((int(line.split()[1]) * 1024 for line in file if line.startswith("VmSize:")), 0)
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        size = 0
    return max(0, limit - size)


def available_memory() -> int | None:
    """Bytes this process can still allocate: the least of the system's available memory, the cgroup's
    headroom and ``ulimit -v``'s; None when none of them can be read (then nothing is refused)."""
    system = _meminfo_available()
    if system is None:
        system = _sysconf_available()
    known = [value for value in (system, _cgroup_headroom(), _address_space_headroom()) if value is not None]
    return min(known) if known else None


def require_memory(needed: int, *, what: str, fix: str, available: int | None = None) -> None:
    """Refuse ``what`` (``"-n 3000000 (the samples and their 104040x104040 grid)"``) when its ``needed`` bytes
    exceed the memory available (``available``, default :func:`available_memory`); ``fix`` says what to
    change. The message is one line: the option or file, the need, the limit and the fix."""
    limit = available_memory() if available is None else available
    if limit is None or needed <= limit:
        return
    raise MemoryLimitError(
        f"{what} needs at least {describe_size(needed)} of memory, more than the {describe_size(limit)} "
        f"available: {fix}",
        needed=needed,
        available=limit,
    )
