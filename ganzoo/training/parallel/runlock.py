"""One writer per run folder: an advisory lock held for the whole run.

Two ``ganzoo train`` processes writing into one ``--out`` (two fresh starts, or a ``--resume``
while the run still goes on) would interleave the log and overwrite each other's checkpoints.
The lock is ``flock`` on ``OUT/.ganzoo.lock``: the kernel releases it when the process ends,
however it ends, so a ``kill -9`` never leaves a stale lock behind. The file keeps the pid of
the holder so that a second writer can say who it is. Under torchrun only rank 0 takes it. The file
is opened through the run folder's guard, without following a link: a lock that is a symbolic link
(to a file elsewhere, which would be truncated) is refused in one line.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ...errors import ConfigError
from ...io.folderguard import FolderGuard

__all__ = ["LOCK_NAME", "RunFolderLock"]

LOCK_NAME = ".ganzoo.lock"


class RunFolderLock:
    """An exclusive lock on a run folder; :meth:`acquire` refuses at once when another process holds it."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.path = Path(folder) / LOCK_NAME
        self._descriptor: int | None = None
        self._made_folder = False

    def acquire(self) -> RunFolderLock:
        """Take the lock, making the folder if it does not exist yet."""
        import fcntl

        from ...io.files import check_output_folder, make_folder

        folder = check_output_folder(self.path.parent, what="--out")  # a file, read-only, /proc: said at once
        self._made_folder = not folder.exists()
        make_folder(folder, what="--out")
        descriptor = FolderGuard(folder, what="run folder").open(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(descriptor)
            raise ConfigError(
                f"{self.path.parent} is being written by another ganzoo train (pid {holder}); wait for it to "
                "finish (or stop it) before resuming, or choose another --out"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        self._descriptor = descriptor
        return self

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the descriptor releases the lock
            self._descriptor = None

    def abandon(self) -> None:
        """Release after a run that never started: a folder made only for the lock goes again."""
        made = self._made_folder and self.held
        self.release()
        if made:
            self.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # only if nothing else was written into it
                self.path.parent.rmdir()

    @property
    def held(self) -> bool:
        return self._descriptor is not None
