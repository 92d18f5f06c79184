"""The output folder of a gallery: checked before any work, written through :mod:`ganzoo.io.files`.

Each entry (a weights entry, a run) gets its own sub-folder holding its page (``index.html``)
and every picture that page shows, so all addresses are relative and short (``walk.gif``,
``../index.html``) and a copied or zipped site keeps working. A folder that already holds
files is written into only if it is a gallery, so ``-o .`` in a project folder is refused
instead of scattering pages among the user's files. A gallery is marked as one (:data:`MARK`)
before its first file is written, so a build that was interrupted leaves a folder the next
build recognises; a gallery from before the mark is recognised by its ``index.html``.

Every path is named through the site's :class:`~ganzoo.io.folderguard.FolderGuard`: an earlier
gallery whose entry folder is a link out of the site is refused, not written through.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import OutputError
from ..io.files import check_output_folder, write_atomic, write_bytes, write_text
from ..io.folderguard import FolderGuard
from .pages import GENERATOR

__all__ = ["Site", "href"]

WHAT = "-o/--output"
MARK = ".ganzoo-gallery"
"""The file that marks a folder as a gallery, written before anything else (its text says what wrote it)."""


def href(*parts: str) -> str:
    """A relative address made of folder and file names, each percent-encoded."""
    return "/".join(quote(part) for part in parts)


class Site:
    """A gallery being written under ``root``."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = check_output_folder(root, what=WHAT)
        if self.root.is_dir() and any(self.root.iterdir()) and not self._is_gallery():
            raise OutputError(
                f"cannot write the gallery into {self.root} ({WHAT}): it holds files and is not a ganzoo gallery; "
                "name a new or empty folder",
                path=self.root,
                problem="not a gallery folder",
            )
        self._taken: set[str] = {"index.html"}  # the index is a file of the root, never an entry's folder
        self._marked = False

    @property
    def guard(self) -> FolderGuard:
        return FolderGuard(self.root, what="gallery")

    def _is_gallery(self) -> bool:
        if self.guard.file(self.root / MARK) is not None:
            return True
        index = self.guard.file(self.root / "index.html")
        if index is None:
            return False
        head = self.guard.read_bytes(index)[:2000].decode("utf-8", errors="replace")
        return f'<meta name="generator" content="{GENERATOR}">' in head

    def _mark(self) -> None:
        """Mark the folder as a gallery before its first file: an interrupted build leaves one the rerun takes."""
        if not self._marked:
            write_text(self.guard.path(MARK), f"{GENERATOR}: this folder is a ganzoo gallery\n")
            self._marked = True

    def folder(self, name: str) -> str:
        """A sub-folder name for entry ``name``, unique within this site (``x``, ``x-2``, ...)."""
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "entry"
        candidate, number = base, 2
        while candidate.lower() in self._taken:
            candidate, number = f"{base}-{number}", number + 1
        self._taken.add(candidate.lower())
        return candidate

    def path(self, *parts: str) -> Path:
        """Where ``parts`` is written in the site (checked by the guard); the folder is marked first."""
        self._mark()
        return self.guard.path(*parts)

    def write_page(self, html: str, *parts: str) -> Path:
        return write_text(self.path(*parts), html)

    def copy(self, data: bytes, *parts: str) -> str:
        """Write ``data`` (a picture read through its own folder's guard) to ``parts``; its address from
        the folder of ``parts``."""
        write_bytes(self.path(*parts), data)
        return href(parts[-1])

    def save_png(self, image: Any, *parts: str) -> str:
        write_atomic(self.path(*parts), lambda file: image.save(file, format="PNG", optimize=True))
        return href(parts[-1])

    def save_gif(self, frames: Sequence[Any], *parts: str, duration_ms: int) -> str:
        """An endlessly looping animation of the PIL images ``frames``."""
        first, *rest = frames
        write_atomic(
            self.path(*parts),
            lambda file: first.save(
                file, format="GIF", save_all=True, append_images=rest, duration=duration_ms, loop=0, optimize=False
            ),
        )
        return href(parts[-1])
