"""Where ganzoo keeps data sets and downloaded weights on disk.

``GANZOO_DATA_DIR`` (or ``--data``) names the data directory, ``GANZOO_CACHE_DIR`` the weights
cache and ``GANZOO_DATA_CACHE_DIR`` the data cache (data sets decoded once, such as an image
folder's pictures as one tensor); all default under ``$XDG_CACHE_HOME/ganzoo`` (``~/.cache/ganzoo``).
The data cache is its own folder, not one inside the weights cache, because it is the large one
(a 128x128 image folder is a gigabyte) and the one a user clears; ``ganzoo cache`` lists and
clears every cache (:mod:`ganzoo.io.caches`).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataNotFoundError

__all__ = ["cache_dir", "data_cache_dir", "data_dir", "home_dir"]


def home_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ganzoo"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``override``, else ``$GANZOO_DATA_DIR``, else ``~/.cache/ganzoo/data``.

    It may not exist yet (a download creates it), but a file in its place is refused in one line
    (``--data faces.jpg``): data directories are folders, and "not found" would send the user
    looking for a file that is right there.
    """
    if override:
        folder, given = Path(override).expanduser(), f"--data {override}"
    else:
        env = os.environ.get("GANZOO_DATA_DIR")
        folder = Path(env).expanduser() if env else home_dir() / "data"
        given = f"GANZOO_DATA_DIR={env}" if env else str(folder)
    if folder.exists() and not folder.is_dir():
        raise DataNotFoundError(
            f"{given} is a file, not a folder: name the folder that holds the data (e.g. {folder.parent}/)"
        )
    return folder


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The weights cache: ``override``, else ``$GANZOO_CACHE_DIR``, else ``~/.cache/ganzoo/weights``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("GANZOO_CACHE_DIR")
    return Path(env).expanduser() if env else home_dir() / "weights"


def data_cache_dir() -> Path:
    """The data cache: ``$GANZOO_DATA_CACHE_DIR``, else ``~/.cache/ganzoo/data-cache``.

    Not ``~/.cache/ganzoo/data``, which is the data directory (downloaded data sets, which a user may
    point at their own folder): clearing a cache must never touch data.
    """
    env = os.environ.get("GANZOO_DATA_CACHE_DIR")
    return Path(env).expanduser() if env else home_dir() / "data-cache"
