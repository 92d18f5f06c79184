"""Where ganzoo keeps data sets and downloaded weights on disk.

``GANZOO_DATA_DIR`` (or ``--data``) names the data directory and ``GANZOO_CACHE_DIR``
the weights cache; both default under ``$XDG_CACHE_HOME/ganzoo`` (``~/.cache/ganzoo``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "data_dir", "home_dir"]


def home_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ganzoo"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``override``, else ``$GANZOO_DATA_DIR``, else ``~/.cache/ganzoo/data``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("GANZOO_DATA_DIR")
    return Path(env).expanduser() if env else home_dir() / "data"


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The weights cache: ``override``, else ``$GANZOO_CACHE_DIR``, else ``~/.cache/ganzoo/weights``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("GANZOO_CACHE_DIR")
    return Path(env).expanduser() if env else home_dir() / "weights"
