"""Output paths: check them before the work starts, and say in one line why one cannot be written.

Every file or folder that ganzoo writes for a user (a sample grid, a ``--tensor`` file, a run
folder, an export, an evaluation recorded in a card, a cache) can fail for the same few
reasons: the path is a folder where a file is wanted (or a file where a folder is), a part
of it is a file, the file system is read-only or virtual (``/proc``), the user may not
write there, or the disk is full. This module is the one place that tells them apart:

- :func:`check_output_file` and :func:`check_output_folder` run *before* the work (a model
  loaded, samples drawn, an evaluation or a training run), so an hour is not lost to an
  unwritable path. Both create nothing: they probe the nearest existing folder by creating
  and removing a hidden temporary file in it, which is the only test that holds for root
  (who ignores permission bits) and for read-only or virtual file systems alike.
- :func:`output_error` turns an ``OSError`` met while writing into an :class:`OutputError`
  (a :class:`DiskFullError` for a full disk or quota) naming the path and the problem;
  :func:`ganzoo.files.write_atomic` uses it, so every durable write gets it for free.

Only the standard library is imported: ``ganzoo list`` may load this module.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Collection
from pathlib import Path

from .errors import DiskFullError, OutputError

__all__ = [
    "check_output_file",
    "check_output_folder",
    "describe_size",
    "find_os_error",
    "make_folder",
    "output_error",
]

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_DENIED = {errno.EACCES, errno.EPERM}
_OS_ERROR_IN_TEXT = re.compile(r"\(os error (\d+)\)|\[Errno (\d+)\]|Os \{ code: (\d+)")
"""How an errno survives in the message of an error that is not an ``OSError``: Rust's ``io::Error``
(safetensors: ``I/O error: No space left on device (os error 28)``) and Python's own ``[Errno 28]``."""


def describe_size(size: int) -> str:
    """``123456789`` -> ``"123.5 MB"`` (decimal units, as ``df -H`` and file managers show)."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def find_os_error(error: BaseException) -> OSError | None:
    """The ``OSError`` (with an errno) behind ``error``: itself, its cause or context, or one its message names.

    Libraries that write files report the operating system's error in their own way:
    ``torch.save`` raises ``RuntimeError: [enforce fail at inline_container.cc...]`` with the
    ``OSError`` as its context, safetensors a ``SafetensorError`` whose message ends in
    ``(os error 28)``. Returns None when no errno can be found (a plain bug, not a path problem).
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current
        match = _OS_ERROR_IN_TEXT.search(str(current))
        if match:
            code = int(next(group for group in match.groups() if group))
            return OSError(code, os.strerror(code))
        current = current.__cause__ or current.__context__
    return None


def _existing_ancestor(path: Path) -> Path:
    """The nearest of ``path`` and its parents that exists (as anything: a file too)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def _file_in_the_way(path: Path) -> Path | None:
    """A parent of ``path`` that exists and is not a folder, if there is one."""
    ancestor = _existing_ancestor(path.parent)
    return None if ancestor.is_dir() else ancestor


def _free_space(folder: Path) -> int | None:
    try:
        stats = os.statvfs(_existing_ancestor(folder))
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return None
    return stats.f_bavail * stats.f_frsize


def _label(path: Path, what: str | None) -> str:
    return f"{path} ({what})" if what else str(path)


def _problem(path: Path, error: OSError, *, folder_wanted: bool) -> str:
    """Why ``path`` cannot be written, in words, from the path as it is now and the errno of ``error``."""
    blocker = _file_in_the_way(path)
    if blocker is not None:
        return f"{blocker} is a file, not a folder"
    if folder_wanted and path.exists() and not path.is_dir():
        return "it exists and is a file, not a folder"
    if not folder_wanted and path.is_dir():
        return "it is a folder; name a file (e.g. inside it)"
    code = error.errno
    where = _existing_ancestor(path if folder_wanted else path.parent)
    if code == errno.EROFS:
        return f"{where} is on a read-only file system"
    if code in _DENIED:
        return f"no permission to write in {where}"
    if code == errno.ENOENT and where.exists():  # the folder exists but takes no new files: /proc, /sys
        return f"{where} takes no new files (a virtual file system?)"
    if code == errno.ENOTDIR:
        return "a part of the path is not a folder"
    if code == errno.EISDIR:
        return "it is a folder; name a file (e.g. inside it)"
    if code == errno.ENAMETOOLONG:
        return "the name is too long for the file system"
    return error.strerror.lower() if error.strerror else str(error)


def output_error(
    path: str | os.PathLike[str],
    error: OSError,
    *,
    what: str | None = None,
    needed: int | None = None,
    at_least: bool = False,
    folder: bool = False,
) -> OutputError:
    """The one-line error for ``error``, met while writing ``path`` (a file; ``folder=True``: a folder).

    ``what`` says what the path is for (``"-o/--output"``, ``"the run folder"``); ``needed`` is the
    number of bytes the write needs, when known (``at_least``: a lower bound, such as what was written
    before the disk filled), and appears in a full disk's message.
    """
    path = Path(path)
    if error.errno in _FULL:
        free = _free_space(path if folder else path.parent)
        space = []
        if free is not None:
            space.append(f"{describe_size(free)} free")
        if needed:
            space.append(f"it needs {'more than ' if at_least else ''}{describe_size(needed)}")
        detail = f" ({', '.join(space)})" if space else ""
        quota = "disk quota exceeded" if error.errno != errno.ENOSPC else "no space left on the device"
        return DiskFullError(
            f"cannot write {_label(path, what)}: {quota}{detail}; free some space and run again",
            path=path,
            problem=f"{quota}{detail}",
            needed=needed,
            free=free,
        )
    kind = "use" if folder else "write"
    problem = _problem(path, error, folder_wanted=folder)
    return OutputError(f"cannot {kind} {_label(path, what)}: {problem}", path=path, problem=problem)


def _probe(folder: Path) -> None:
    from .files import probe_folder  # ganzoo.files makes every temporary file (and imports this module)

    probe_folder(folder)


def _printable(path: Path) -> Path:
    """``path`` with the bytes of its name that are not UTF-8 (Python keeps them as lone surrogates) shown as
    ``\\xff`` escapes, so the message that names it can be printed."""
    return Path(os.fsencode(path).decode("utf-8", "backslashreplace"))


def _one_of(choices: Collection[str]) -> str:
    listed = list(choices)
    return listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} or {listed[-1]}"


def _check_name(path: Path, what: str | None, *, folder: bool, suffixes: Collection[str] | None = None) -> None:
    """Refuse a name ganzoo cannot record, or one whose suffix names a format it would not write there.

    ganzoo records the paths it writes in UTF-8 files (config.json, model cards, logs), so a name
    that is not valid UTF-8 (a Linux name may be any bytes) would fail only when the first of them
    is written, after the work, leaving half an export behind: it is refused before the work.
    """
    kind = "use" if folder else "write"
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        problem = "its name is not valid UTF-8, so ganzoo cannot record it (config.json, cards and logs are UTF-8)"
        raise OutputError(
            f"cannot {kind} {_label(_printable(path), what)}: {problem}; rename it", path=path,
            problem=problem,
        ) from None
    if suffixes is not None and path.suffix.lower() not in suffixes:
        problem = (f"the suffix {path.suffix} names no format ganzoo writes here" if path.suffix
                   else "the name has no suffix to say which format to write")
        raise OutputError(
            f"cannot {kind} {_label(path, what)}: {problem}; end the name in {_one_of(suffixes)}", path=path,
            problem=problem,
        )


def check_output_file(
    path: str | os.PathLike[str], *, what: str | None = None, suffixes: Collection[str] | None = None
) -> Path:
    """Refuse, before any work, a file path that cannot be written; returns it as a ``Path``.

    The path may exist (it will be replaced) or not (missing folders are created when it is
    written); it must not be a folder, lie below a file, or lie in a folder that is read-only,
    virtual or not the user's to write. Its name must be valid UTF-8 and, when ``suffixes`` are
    given (``.png``, ``.jpg``, ...), end in one of them: the format written is the one the name
    says. Nothing is created.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise output_error(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)), what=what)
    if _file_in_the_way(path) is not None:
        raise output_error(path, NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)), what=what)
    _check_name(path, what, folder=False, suffixes=suffixes)
    try:
        _probe(_existing_ancestor(path.parent))
    except OSError as error:
        raise output_error(path, error, what=what) from None
    return path


def check_output_folder(path: str | os.PathLike[str], *, what: str | None = None) -> Path:
    """Refuse, before any work, a folder that cannot be written into; returns it as a ``Path``.

    The folder may exist or not (it is created when written); it must not be a file, lie
    below a file, or lie on a read-only, virtual or unwritable file system. Nothing is
    created. Its name must be valid UTF-8. This is the check of a run folder (``ganzoo train
    --out``) before training.
    """
    path = Path(path).expanduser()
    _check_name(path, what, folder=True)
    if os.path.lexists(path) and not path.is_dir():
        raise output_error(path, NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)), what=what,
                           folder=True)
    if _file_in_the_way(path) is not None:
        raise output_error(path, NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)), what=what,
                           folder=True)
    try:
        _probe(_existing_ancestor(path))
    except OSError as error:
        raise output_error(path, error, what=what, folder=True) from None
    return path


def make_folder(path: str | os.PathLike[str], *, what: str | None = None) -> Path:
    """``mkdir -p path``, with an :class:`OutputError` naming the path and the problem when it cannot be."""
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise output_error(path, error, what=what, folder=True) from None
    return path
