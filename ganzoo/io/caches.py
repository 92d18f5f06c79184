"""ganzoo's caches: what each holds, where, how large, and clearing one safely (``ganzoo cache``).

Users of the Hugging Face and torch caches expect to see what a tool keeps on their disk and to
free it (``huggingface-cli scan-cache`` / ``delete-cache``, ``pip cache``). ganzoo keeps four kinds
of cached files, each re-made on demand when it is gone:

=========  ==============================================  ==========================================
kind       what                                            where (default)
=========  ==============================================  ==========================================
weights    zoo weights downloaded from their records' URLs ``$GANZOO_CACHE_DIR`` (``~/.cache/ganzoo/weights``)
hub        exports downloaded from the Hub (``hf://``)      ``hf/`` in the weights cache
stats      real-data features ``ganzoo eval`` reuses        ``stats/`` in the weights cache
data       data sets decoded once (an image folder's       ``$GANZOO_DATA_CACHE_DIR`` (``~/.cache/ganzoo/data-cache``)
           pictures as one tensor)
=========  ==============================================  ==========================================

Clearing removes only what ganzoo itself names there (:attr:`CacheKind.holds`: the weights'
``*.safetensors`` files, the Hub's ``OWNER--REPO`` folders, ...) and its own temporaries: a cache
folder that a user pointed at a folder of their own (``GANZOO_CACHE_DIR=~``) loses nothing else.
Nothing is followed through a symbolic link: the folders are walked with ``follow_symlinks=False``,
a link is never an entry to remove (so never a way to reach a file elsewhere), a folder inside the
weights cache that is a link leading out of it is refused in one line by the folder guard
(:class:`ganzoo.io.folderguard.FolderGuard`), and a folder entry is removed by :func:`shutil.rmtree`,
which does not follow links either.

Only the standard library is imported: ``ganzoo cache`` starts as fast as ``ganzoo list``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .files import is_temporary
from .folderguard import FolderGuard
from .paths import cache_dir, data_cache_dir

__all__ = ["CACHE_KINDS", "CacheEntry", "CacheKind", "clear_cache", "find_cache_kind", "scan_cache"]


@dataclass(frozen=True)
class CacheEntry:
    """One thing a cache holds: a file, or a folder (a Hub repository's), with its size in bytes."""

    path: Path
    size: int
    folder: bool = False


def _safetensors_file(name: str, folder: bool) -> bool:
    return not folder and name.endswith(".safetensors")


def _hub_repository(name: str, folder: bool) -> bool:
    return folder and "--" in name  # OWNER--REPO (ganzoo.models.hub_cache)


def _in_weights_cache(name: str) -> Callable[[], Path]:
    """A folder that ganzoo names inside the weights cache, checked by the folder guard: a link there
    that leads out of the cache is refused, never walked."""

    def folder() -> Path:
        weights = cache_dir()
        return FolderGuard(weights, what="weights cache").path(name)

    return folder


OLD_DATA_FOLDERS = ("image-folder", "celeba")
"""Where ganzoo 0.1 kept decoded pictures: sub-folders of the weights cache, before the data cache existed."""


@dataclass(frozen=True)
class CacheKind:
    """One kind of cached file: its name (``ganzoo cache clear NAME``), what it is, its folder, and which
    entries of that folder are its own.

    ``depth`` is how far below the folder its entries lie (the data cache keeps one folder per data
    set: ``image-folder/KEY.safetensors``); ``holds(name, is_folder)`` says whether an entry there is
    one that ganzoo writes. Anything else in the folder is not listed and never removed.
    """

    name: str
    what: str
    folder: Callable[[], Path]
    holds: Callable[[str, bool], bool]
    depth: int = 1
    setting: str = ""
    """Where the user moves it (an environment variable), for the listing."""
    legacy: bool = False
    """Left behind by an older ganzoo: listed only while it holds something."""


CACHE_KINDS: tuple[CacheKind, ...] = (
    CacheKind("weights", "zoo weights downloaded from their records' URLs", cache_dir, _safetensors_file,
              setting="GANZOO_CACHE_DIR"),
    CacheKind("hub", "exports downloaded from the Hugging Face Hub, hf://", _in_weights_cache("hf"),
              _hub_repository, setting="in GANZOO_CACHE_DIR"),
    CacheKind("stats", "real-data features that ganzoo eval reuses", _in_weights_cache("stats"),
              _safetensors_file, setting="in GANZOO_CACHE_DIR"),
    CacheKind("data", "data sets decoded once: an image folder's pictures as one tensor", data_cache_dir,
              _safetensors_file, depth=2, setting="GANZOO_DATA_CACHE_DIR"),
    *(CacheKind(f"old-{data}", f"{data} pictures decoded by ganzoo 0.1 into the weights cache; nothing reads "
                "them now (the data cache replaced them): clear them", _in_weights_cache(data), _safetensors_file,
                setting="in GANZOO_CACHE_DIR", legacy=True)
      for data in OLD_DATA_FOLDERS),
)
"""Every cache ganzoo keeps, in the order ``ganzoo cache`` lists them."""


def find_cache_kind(name: str) -> CacheKind:
    """The cache kind called ``name``; an unknown one is a one-line error naming the kinds."""
    from ..errors import UnknownNameError

    for kind in CACHE_KINDS:
        if kind.name == name:
            return kind
    raise UnknownNameError("cache", name, [kind.name for kind in CACHE_KINDS],
                           hint="Run 'ganzoo cache' to see them with their sizes.")


def _tree_size(folder: str) -> int:
    """Bytes of the regular files below ``folder``, found without following a link."""
    total = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                total += _tree_size(entry.path)
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue  # removed while we looked
    return total


def _entries(folder: Path, kind: CacheKind, level: int) -> list[CacheEntry]:
    try:
        listing = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found: list[CacheEntry] = []
    for entry in listing:
        try:
            is_folder = entry.is_dir(follow_symlinks=False)  # a link is neither: never an entry, never walked
            is_file = entry.is_file(follow_symlinks=False)
            if level < kind.depth:
                if is_folder:
                    found += _entries(Path(entry.path), kind, level + 1)
                continue
            if is_file and is_temporary(entry.name):
                found.append(CacheEntry(Path(entry.path), entry.stat(follow_symlinks=False).st_size))
            elif (is_file or is_folder) and kind.holds(entry.name, is_folder):
                size = _tree_size(entry.path) if is_folder else entry.stat(follow_symlinks=False).st_size
                found.append(CacheEntry(Path(entry.path), size, folder=is_folder))
        except OSError:
            continue  # removed while we looked
    return found


def scan_cache(kind: CacheKind) -> tuple[Path, list[CacheEntry]]:
    """The folder of ``kind`` and what ganzoo keeps in it (nothing when the folder does not exist yet)."""
    folder = kind.folder()
    return folder, _entries(folder, kind, 1)


def clear_cache(kind: CacheKind) -> tuple[int, int]:
    """Remove what ``kind`` holds (:func:`scan_cache`), then the data-set folders left empty; returns how many
    entries and bytes were removed. Entries that vanish meanwhile (another ganzoo clearing) are skipped."""
    folder, entries = scan_cache(kind)
    removed = freed = 0
    for entry in entries:
        try:
            if entry.folder:
                shutil.rmtree(entry.path)  # refuses a link, and does not follow the links inside
            else:
                os.unlink(entry.path)  # a file, or a link put in its place since: the link itself, never its target
        except FileNotFoundError:
            continue
        removed += 1
        freed += entry.size
    if kind.depth > 1:
        for parent in sorted({entry.path.parent for entry in entries}, key=lambda p: len(p.parts), reverse=True):
            if parent != folder:
                with contextlib.suppress(OSError):
                    parent.rmdir()  # only when empty: what else is there stays
    return removed, freed
