"""Durable writes: every file ganzoo keeps (exports, checkpoints, sample grids, caches) goes through here.

A write goes to a temporary file in the destination's folder, is flushed and fsynced, and
is renamed over the destination with ``os.replace``; the folder is fsynced last so the
rename itself survives a power cut. A reader therefore sees the old file or the new one,
never half of one, and a write that fails (or is killed) leaves the old file as it was and
no temporary behind (a killed process can leave a ``.ganzoo-NAME.XXXXXXXX.tmp`` file, never a
damaged ``NAME``). Every temporary ganzoo makes has that recognisable name (:func:`is_temporary`), so
the start of a run removes those and nothing else (:meth:`ganzoo.folderguard.FolderGuard.temporaries`).

``tempfile.mkstemp`` creates files readable by their owner only (0600); a durable write
must not make a file more private than ``open(path, "w")`` would, so the file gets
``0o666 & ~umask``, as an ordinary open gives.

Only the standard library is imported: ``ganzoo list`` may load this module.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import GanzooError
from .outputs import describe_size, find_os_error, output_error

__all__ = [
    "TEMPORARY_PREFIX",
    "CacheWarning",
    "is_temporary",
    "probe_folder",
    "write_atomic",
    "write_bytes",
    "write_cache",
    "write_text",
]


TEMPORARY_PREFIX = ".ganzoo-"
"""How the name of every temporary file ganzoo makes begins: ``.ganzoo-NAME.XXXXXXXX.tmp``."""
_TEMPORARY = re.compile(re.escape(TEMPORARY_PREFIX) + r".+\.[a-z0-9_]{8}\.tmp")
"""``tempfile.mkstemp``'s names: the prefix, eight characters of ``[a-z0-9_]`` and the suffix."""


class CacheWarning(UserWarning):
    """A cache could not be written (a full disk, a read-only cache folder); the work goes on without it."""


def is_temporary(name: str) -> bool:
    """Whether the file name ``name`` is one of ganzoo's own temporaries (a durable write's or a probe's)."""
    return _TEMPORARY.fullmatch(name) is not None


def _make_temporary(folder: str | os.PathLike[str], name: str) -> tuple[int, str]:
    """A new, empty temporary file in ``folder`` named for ``name`` (``mkstemp``: ``O_EXCL``, no link followed)."""
    return tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}{name}.", suffix=".tmp", dir=folder)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``os.umask`` can only set it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and put straight back
    os.umask(mask)
    return mask


def _set_mode(descriptor: int, path: str, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, mode)
    else:  # pragma: no cover - Windows: only the read-only bit exists
        os.chmod(path, mode)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable. Platforms that cannot open a folder (Windows) rename atomically anyway."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:  # some file systems refuse fsync on a folder; the rename is still atomic
        pass
    finally:
        os.close(descriptor)


def write_atomic(
    path: str | os.PathLike[str], write: Callable[[BinaryIO], object], *, size: int | None = None
) -> Path:
    """Call ``write(file)`` with a binary file open for writing, then put the result at ``path`` atomically.

    ``write`` receives a file object (``torch.save(obj, file)``, ``image.save(file, format="PNG")``,
    ``file.write(data)``). A writer that only takes a path (safetensors' ``save_file``, which
    would otherwise need the whole file in memory as bytes) writes to ``file.name``, the
    temporary file's path, instead of to ``file``. If ``write`` raises, ``path`` is untouched,
    the temporary file is removed and the error propagates. Missing parent folders are
    created. Returns ``path`` as a ``Path``.

    An error of the operating system on the way (``path`` is a folder, lies below a file or on
    a read-only file system, the disk is full), however the writer reports it (torch wraps it
    in a ``RuntimeError``, safetensors in a ``SafetensorError``), becomes one
    :class:`~ganzoo.errors.OutputError` naming ``path`` and the problem: a
    :class:`~ganzoo.errors.DiskFullError` for a full disk, which states ``size`` (the bytes
    the file needs, when the caller knows) or else what was written before it failed, as a lower bound.
    """
    path = Path(path)
    if path.is_dir():
        raise output_error(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = _make_temporary(path.parent, path.name)
        os.close(handle)
        with open(temporary, "r+b") as file:
            write(file)
        # A writer given file.name may have put a new file at that name (safetensors writes its own
        # temporary file, mode 0600, and renames it), so the mode and the fsync go to what is there now.
        with open(temporary, "r+b") as written:
            _set_mode(written.fileno(), temporary, 0o666 & ~_umask())
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException as failure:
        written_size = _size(temporary)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        deliberate = isinstance(failure, GanzooError) or not isinstance(failure, Exception)
        cause = None if deliberate else find_os_error(failure)  # a writer's own one-line error stays as it is
        if cause is None:
            raise
        if size is not None:
            raise output_error(path, cause, needed=size) from failure
        raise output_error(path, cause, needed=written_size or None, at_least=True) from failure
    _fsync_folder(path.parent)
    return path


def _size(name: str | None) -> int:
    try:
        return os.stat(name).st_size if name is not None else 0
    except OSError:
        return 0


def probe_folder(folder: str | os.PathLike[str]) -> None:
    """Create and remove a hidden file in ``folder``, raising the ``OSError`` if it cannot be created.

    The one test of "can a file be written here" that holds for root (who ignores permission
    bits, so ``os.access`` says yes) and for read-only and virtual file systems alike
    (:func:`ganzoo.outputs.check_output_file` uses it before any work starts).
    """
    handle, name = _make_temporary(folder, "probe")
    os.close(handle)
    os.unlink(name)


def write_cache(
    path: str | os.PathLike[str],
    write: Callable[[BinaryIO], object],
    *,
    what: str,
    size: int | None = None,
    announce: str | None = None,
) -> Path | None:
    """:func:`write_atomic` for a cache: a file that only saves work next time (decoded images, statistics).

    A cache that cannot be written (:class:`~ganzoo.errors.OutputError`: a full disk, a read-only
    or misplaced cache folder) must not end the work it would have sped up: it is said once, as
    a :class:`CacheWarning` naming ``what``, the path and the problem, and None is returned.

    A large cache is not made silently: with ``announce`` (what the file holds, e.g. "the 23,708
    decoded images"), one line on the ``ganzoo`` logger (INFO, which the CLI shows) says its size on
    disk, where it is and how to clear it. It is said when the file is made, so once.
    """
    from .errors import OutputError

    try:
        written = write_atomic(path, write, size=size)
    except OutputError as failure:
        warnings.warn(
            f"cannot write {what} {path} ({failure.problem}): going on without it; the next run computes it again",
            CacheWarning,
            stacklevel=3,
        )
        return None
    if announce:
        logging.getLogger("ganzoo").info(
            "cached %s (%s) in %s; 'ganzoo cache' lists the caches, 'ganzoo cache clear' frees them",
            announce, describe_size(_size(str(written))), written,
        )
    return written


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """``path.write_bytes(data)``, atomically and durably."""
    return write_atomic(path, lambda file: file.write(data), size=len(data))


def write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """``path.write_text(text)``, atomically and durably (UTF-8, newlines written as given)."""
    data = text.encode(encoding)
    return write_atomic(path, lambda file: file.write(data), size=len(data))
