"""Writing files: check an output path before the work starts, say in one line why a write failed, and
write durably.

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
  :func:`ganzoo.io.files.write_atomic` uses it, so every durable write gets it for free.

Durable writes. Every file ganzoo keeps (exports, checkpoints, sample grids, caches) goes through here.

A write goes to a temporary file in the destination's folder, is flushed and fsynced, and
is renamed over the destination with ``os.replace``; the folder is fsynced last so the
rename itself survives a power cut. A reader therefore sees the old file or the new one,
never half of one, and a write that fails (or is killed) leaves the old file as it was and
no temporary behind (a killed process can leave a ``.ganzoo-NAME.XXXXXXXX.tmp`` file, never a
damaged ``NAME``). Every temporary ganzoo makes has that recognisable name (:func:`is_temporary`), so
the start of a run removes those and nothing else (:meth:`ganzoo.io.folderguard.FolderGuard.temporaries`).

``tempfile.mkstemp`` creates files readable by their owner only (0600); a durable write
must not make a file more private than ``open(path, "w")`` would, so the file gets
``0o666 & ~umask``, as an ordinary open gives.

Only the standard library is imported: ``ganzoo list`` may load this module.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import DiskFullError, GanzooError, OutputError

__all__ = [
    "TEMPORARY_PREFIX",
    "CacheWarning",
    "check_output_file",
    "check_output_folder",
    "describe_size",
    "file_sha256",
    "find_os_error",
    "is_temporary",
    "jsonable",
    "make_folder",
    "output_error",
    "probe_folder",
    "write_atomic",
    "write_bytes",
    "write_cache",
    "write_text",
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


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of the file at ``path``, read a megabyte at a time (a weights file is never held whole
    just to be hashed): the one digest every weights, extractor and statistics check compares."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


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
    (:func:`ganzoo.io.files.check_output_file` uses it before any work starts).
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
    from ..errors import OutputError

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


def jsonable(value: Any) -> Any:
    """The plain-data view of a config, record or metrics: what JSON and ``torch.load(weights_only=True)`` keep.

    Mappings become dicts with string keys, tuples lists, paths strings, and tensors and
    numpy values (anything with ``tolist()``) Python numbers or lists; the one normaliser
    for config.json, safetensors metadata, checkpoints and ``ganzoo info --json``.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value
