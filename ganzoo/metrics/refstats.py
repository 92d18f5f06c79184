"""Reference statistics in the common ``.npz`` format: pytorch-fid's ``mu`` and ``sigma``.

Published dataset statistics (pytorch-fid's, StudioGAN's, many papers') are a mean and a
covariance of Inception features in an ``.npz`` file; scoring against one needs no dataset,
only the same extractor and preprocessing the file was made with. FID is all they allow:
KID and precision/recall need the individual features, which such a file does not hold.

A file from elsewhere is untrusted: it is read with ``np.load(allow_pickle=False)`` (arrays
of numbers and text, never objects or code), only when it is a regular file of bounded size,
each array's size is checked in the archive's directory before it is decompressed (a small
compressed file can expand to gigabytes), and the arrays must be finite floats of shapes
``(D,)`` and ``(D, D)``. Files ganzoo writes (:func:`save_reference_stats`) add a ``ganzoo``
entry, a JSON text saying which extractor, weights and preprocessing made them; when it is
there, a different extractor is refused instead of giving a meaningless number.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import ConfigError
from ganzoo.io.files import file_sha256
from ganzoo.io.untrusted import parse_json

__all__ = ["MAX_STATS_BYTES", "MAX_STATS_DIM", "ReferenceStats", "load_reference_stats", "save_reference_stats"]

MAX_STATS_DIM = 4096
"""Largest feature dimension accepted (Inception's is 2048; 4096 makes a 128 MiB covariance)."""
MAX_STATS_BYTES: int = 8 * (MAX_STATS_DIM * MAX_STATS_DIM + MAX_STATS_DIM) + (1 << 20)
"""Largest file, and largest decompressed array total, read as statistics (float64 mu and sigma of MAX_STATS_DIM)."""
_META_KEY = "ganzoo"


@dataclass
class ReferenceStats:
    """A mean ``(D,)`` and covariance ``(D, D)`` (float64) from a file, and what the file says about itself."""

    mu: torch.Tensor
    sigma: torch.Tensor
    path: Path
    sha256: str
    made_with: dict[str, Any] = field(default_factory=dict)
    """ganzoo's record of how the file was made (extractor, weights, preprocessing, data), if it has one."""

    @property
    def dim(self) -> int:
        return int(self.mu.shape[0])

    def check_extractor(self, extractor: Any) -> None:
        """Refuse statistics made with another extractor, weights or preprocessing than ``extractor``."""
        dim = getattr(extractor, "feature_dim", None)
        name = str(getattr(extractor, "name", type(extractor).__name__))
        if dim is not None and int(dim) != self.dim:
            raise ConfigError(
                f"{self.path} holds statistics of {self.dim}-d features but {name} gives {dim}-d ones: "
                "use the extractor the file was made with"
            )
        made = self.made_with
        for key, mine in (("extractor", name), ("weights_sha256", str(getattr(extractor, "weights_sha256", ""))),
                          ("resize", str(getattr(extractor, "resize", None))),
                          ("input_note", str(getattr(extractor, "input_note", "")))):
            if key in made and str(made[key]) != mine:
                raise ConfigError(
                    f"{self.path} was made with {key} {str(made[key])[:80]!r}, not this evaluation's {mine[:80]!r}: "
                    "its numbers would not be comparable; evaluate with the same extractor and options"
                )

    def describe(self) -> str:
        """One phrase for the protocol record."""
        made = self.made_with
        how = (
            f"made by ganzoo from {made.get('count')} {made.get('dataset')} '{made.get('split')}' samples"
            if made else "origin not recorded in the file: its features must come from the same extractor and resize"
        )
        return f"mean and covariance from {self.path.name} (sha256 {self.sha256[:12]}; {how})"


def _float_array(archive: Any, key: str, path: Path) -> Any:
    import numpy as np

    value = archive[key]
    if value.dtype.kind != "f":
        raise ConfigError(f"{path}: '{key}' holds {value.dtype} values, not floats")
    if not np.isfinite(value).all():
        raise ConfigError(f"{path}: '{key}' holds NaN or infinite values")
    return value


def load_reference_stats(path: str | os.PathLike[str]) -> ReferenceStats:
    """The statistics in the ``.npz`` file ``path`` (pytorch-fid's ``mu``, ``sigma``), after every check."""
    import numpy as np

    path = Path(path).expanduser()
    try:
        info = os.stat(path)
    except OSError as error:
        raise ConfigError(f"reference statistics {path} cannot be read ({error.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"reference statistics {path} is not a regular file")
    if info.st_size > MAX_STATS_BYTES:
        raise ConfigError(f"reference statistics {path} is {info.st_size:,} bytes, more than the {MAX_STATS_BYTES:,} "
                          f"of {MAX_STATS_DIM}-d statistics")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
            names = {member.filename for member in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as error:
        raise ConfigError(f"reference statistics {path} is not an .npz file ({error})") from None
    if unpacked > MAX_STATS_BYTES:
        raise ConfigError(f"reference statistics {path} unpack to {unpacked:,} bytes, more than the "
                          f"{MAX_STATS_BYTES:,} of {MAX_STATS_DIM}-d statistics")
    if not {"mu.npy", "sigma.npy"} <= names:
        raise ConfigError(f"reference statistics {path} need arrays 'mu' and 'sigma' (pytorch-fid's format); "
                          f"it has {sorted(n.removesuffix('.npy') for n in names)[:6]}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            mu = _float_array(archive, "mu", path)
            sigma = _float_array(archive, "sigma", path)
            meta = str(archive[_META_KEY][()]) if f"{_META_KEY}.npy" in names else None
    except ValueError as error:  # an object array (pickle) is refused by allow_pickle=False
        raise ConfigError(f"reference statistics {path} cannot be read without unpickling ({error})") from None
    dim = mu.shape[0] if mu.ndim == 1 else -1
    if dim < 1 or dim > MAX_STATS_DIM or sigma.shape != (dim, dim):
        raise ConfigError(
            f"reference statistics {path}: mu has shape {mu.shape} and sigma {sigma.shape}; expected (D,) and (D, D) "
            f"with 1 <= D <= {MAX_STATS_DIM}"
        )
    made_with = parse_json(meta, source=f"{path} ({_META_KEY})", error=ConfigError) if meta is not None else {}
    if not isinstance(made_with, dict):
        raise ConfigError(f"{path}: its '{_META_KEY}' entry is not a JSON object")
    return ReferenceStats(
        mu=torch.from_numpy(mu.astype(np.float64)), sigma=torch.from_numpy(sigma.astype(np.float64)), path=path,
        sha256=file_sha256(path), made_with=made_with,
    )


def save_reference_stats(
    path: str | os.PathLike[str], mu: torch.Tensor, sigma: torch.Tensor, made_with: dict[str, Any]
) -> Path:
    """Write ``mu`` and ``sigma`` (float64) as pytorch-fid writes them (``np.savez_compressed``), with ganzoo's record.

    The file is written under a temporary name and renamed (:func:`ganzoo.io.files.write_atomic`).
    """
    import numpy as np

    from ganzoo.io.files import write_atomic

    arrays = {
        "mu": mu.detach().to("cpu", torch.float64).numpy(),
        "sigma": sigma.detach().to("cpu", torch.float64).numpy(),
        _META_KEY: np.array(json.dumps(made_with, sort_keys=True, default=str)),
    }
    return write_atomic(path, lambda file: np.savez_compressed(file, **arrays))
