"""The folder guard: what ganzoo reads from or writes into a folder it owns stays inside that folder.

A run folder (``ganzoo train --out``), an export folder and a gallery are often made by someone
else: copied, unpacked from an archive, downloaded. A symbolic link in one of them could make
ganzoo truncate a file elsewhere (the run's lock), publish a private file (a gallery's pictures,
``ganzoo push``) or delete outside the folder (the start-of-run cleanup). Every reader and writer
of such a folder therefore names its entries through one :class:`FolderGuard`:

- :meth:`FolderGuard.check` resolves an entry and refuses it, in one line naming the link, when
  it leads out of the folder. A link that stays inside is followed: reading it is safe, and a
  durable write (:func:`ganzoo.io.files.write_atomic`) replaces the link itself, never its target.
- :meth:`FolderGuard.open` opens a file that is written in place (the lock, the log) with
  ``O_NOFOLLOW``: a link there is refused, not followed.
- :meth:`FolderGuard.read_bytes` reads a regular file only, after the check.
- :meth:`FolderGuard.temporaries` lists the temporaries ganzoo's own durable writes left
  (:func:`ganzoo.io.files.is_temporary`), without following a link and without leaving the folder.
- :meth:`FolderGuard.record` and :meth:`FolderGuard.recorded` keep a path in a checkpoint relative
  to the folder, so a moved folder keeps working and a checkpoint cannot direct writes outside it.

The folder itself is what the user named (``--out``, ``-o``, ``EXPORT_DIR``): it may be a link.

Only the standard library is imported: ``ganzoo list`` may load this module.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..errors import FolderEscapeError
from .files import is_temporary

__all__ = ["FolderGuard"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class FolderGuard:
    """The entries of one folder that ganzoo owns; ``what`` names it in messages (``"run folder"``)."""

    def __init__(self, root: str | os.PathLike[str], *, what: str):
        self.root = Path(root)
        self.what = what

    def __repr__(self) -> str:
        return f"FolderGuard({str(self.root)!r}, what={self.what!r})"

    def _real_root(self) -> str:
        return os.path.realpath(self.root)  # resolved each time: the folder may be made after the guard

    def _parts(self, path: Path) -> tuple[str, ...]:
        """``path``'s parts below the root (lexically); a path elsewhere, or one that climbs out with
        ``..``, is refused."""
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            parts = ("..",)
        if ".." in parts:
            raise FolderEscapeError(
                f"{path} lies outside the {self.what} {self.root}; ganzoo reads and writes only inside it",
                path=path,
            )
        return parts

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` names an entry below the root (by its spelling: nothing is resolved)."""
        try:
            return ".." not in Path(path).relative_to(self.root).parts
        except ValueError:
            return False

    def path(self, *parts: str) -> Path:
        """``root/parts...``, checked (:meth:`check`)."""
        return self.check(self.root.joinpath(*parts))

    def check(self, path: str | os.PathLike[str]) -> Path:
        """``path`` (an entry below the root, which need not exist yet) if it resolves inside the folder;
        else a one-line :class:`~ganzoo.errors.FolderEscapeError` naming the link that leads out."""
        path = Path(path)
        parts = self._parts(path)
        root = self._real_root()
        if _within(os.path.realpath(path), root):
            return path
        current = self.root
        for part in parts:  # name the first link on the way that leaves the folder
            current = current / part
            if os.path.islink(current) and not _within(os.path.realpath(current), root):
                raise self._escape(current)
        raise self._escape(path)  # pragma: no cover - a path that leaves has a link on its way

    def _escape(self, link: Path) -> FolderEscapeError:
        try:
            target = os.readlink(link)
        except OSError:
            target = os.path.realpath(link)
        return FolderEscapeError(
            f"{link} is a symbolic link to {target}, outside the {self.what} {self.root}; ganzoo does not "
            "follow links out of the folders it reads and writes: replace the link with the file itself",
            path=link,
        )

    def open(self, path: str | os.PathLike[str], flags: int, mode: int = 0o666) -> int:
        """``os.open(path, flags)`` without following a link at ``path`` (``O_NOFOLLOW``), for a file ganzoo
        writes in place (the lock, the log); a link there is a one-line error naming it."""
        path = self.check(path)
        try:
            return os.open(path, flags | _NOFOLLOW | _CLOEXEC, mode)
        except OSError as error:
            if error.errno == errno.ELOOP or (error.errno == errno.EMLINK and os.path.islink(path)):
                raise FolderEscapeError(
                    f"{path} is a symbolic link; ganzoo writes this file of the {self.what} {self.root} itself "
                    "and does not follow links there: remove the link",
                    path=path,
                ) from None
            raise

    def file(self, path: str | os.PathLike[str]) -> Path | None:
        """``path`` if it is a regular file inside the folder (through links that stay inside), None if there is
        none; a link that leads out is refused (:meth:`check`)."""
        path = self.check(path)
        return path if os.path.isfile(path) else None

    def read_bytes(self, path: str | os.PathLike[str]) -> bytes:
        """The bytes of the regular file ``path`` (checked; a link inside the folder is followed)."""
        real = os.path.realpath(self.check(path))
        descriptor = os.open(real, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _NONBLOCK)  # a FIFO must not block
        with os.fdopen(descriptor, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise FolderEscapeError(
                    f"{path} is not a regular file; ganzoo reads only files from the {self.what} {self.root}",
                    path=Path(path),
                )
            return file.read()

    def read_text(self, path: str | os.PathLike[str], *, errors: str = "strict") -> str:
        """:meth:`read_bytes` decoded as UTF-8."""
        return self.read_bytes(path).decode("utf-8", errors)

    def temporaries(self, folders: Iterable[str | os.PathLike[str]]) -> list[Path]:
        """The temporary files of ganzoo's own killed writes (:func:`ganzoo.io.files.is_temporary`) directly in
        ``folders`` (the root or folders below it): regular files only, found without following a link,
        and a folder that is a link is not looked into."""
        found = []
        for folder in folders:
            folder = Path(folder)
            parts = self._parts(folder)
            if any(os.path.islink(self.root.joinpath(*parts[: i + 1])) for i in range(len(parts))):
                continue  # never into a link: what it points at is not the folder's
            try:
                with os.scandir(folder) as entries:
                    found += [folder / entry.name for entry in entries
                              if is_temporary(entry.name) and entry.is_file(follow_symlinks=False)]
            except (FileNotFoundError, NotADirectoryError):
                continue
        return sorted(found)

    def record(self, path: str | os.PathLike[str]) -> str:
        """How a checkpoint records ``path``: relative to the folder (POSIX separators) when it lies inside,
        so the folder can be moved; else the absolute path, which :meth:`recorded` will not follow."""
        path = Path(path)
        root = self._real_root()
        real = os.path.realpath(path)
        if _within(real, root):
            return PurePosixPath(*Path(os.path.relpath(real, root)).parts).as_posix()
        return str(path.absolute())

    def recorded(self, value: str, *, source: str, fix: str) -> Path:
        """The path a checkpoint (``source``) recorded with :meth:`record`, below the root as it is now.

        A relative one is joined to the root and checked; an absolute one (an older checkpoint) is
        converted when it lies inside the folder, else refused in one line ending with ``fix``: a
        checkpoint may not direct writes out of its folder (a copied folder would write into its original).
        """
        recorded = PurePosixPath(value)
        if not recorded.is_absolute() and not Path(value).is_absolute():
            if ".." in recorded.parts:
                raise FolderEscapeError(f"{source} records the path {value!r}, which climbs out of the {self.what} "
                                        f"{self.root}; a checkpoint may not direct writes out of its folder: {fix}",
                                        path=Path(value))
            return self.check(self.root.joinpath(*recorded.parts))
        root = self._real_root()
        real = os.path.realpath(value)
        if not _within(real, root):
            raise FolderEscapeError(
                f"{source} records the path {value}, outside the {self.what} {self.root} (was the folder moved?); "
                f"a checkpoint may not direct writes out of its folder: {fix}",
                path=Path(value),
            )
        return self.check(self.root.joinpath(os.path.relpath(real, root)))
