"""Weights files: finding them (package, cache, download), checking their hash, reading them.

Only safetensors files are read, and never whole: :func:`read_header` reads the header alone
(names, shapes, metadata), so that the shapes can be compared with the model before anything
is allocated (:func:`check_generator_shapes`), and :func:`read_tensors` then takes just the
tensors wanted from the memory-mapped file (``safetensors.safe_open``), so a file far larger
than memory loads as long as its generator fits. The sha256 is computed by streaming the file.
Nothing is ever unpickled. Downloads go to a temporary file in the cache directory and are
renamed into place only after their sha256 matched; a file that fails is deleted, never kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from .._version import __version__
from ..errors import ConfigError, WeightsError, redact
from ..io.files import file_sha256, write_atomic
from ..io.paths import cache_dir as default_cache_dir
from ..registry.records import ModelSpec, WeightsSpec

__all__ = [
    "DOWNLOAD_TIMEOUT_S",
    "WeightsHeader",
    "cached_weights_path",
    "check_generator_shapes",
    "check_sha256",
    "download_file",
    "fetch_weights",
    "file_sha256",
    "generator_state",
    "load_generator_state",
    "read_header",
    "read_tensors",
    "sha256_hex",
]

log = logging.getLogger("ganzoo")

DOWNLOAD_TIMEOUT_S = 60.0
"""Seconds a download may wait on the server before it is abandoned."""

_PREFIX = "generator."
EMA_PREFIX = "generator_ema."


@dataclass(frozen=True)
class WeightsHeader:
    """What a safetensors file says before any tensor is read: its metadata and each tensor's shape."""

    metadata: dict[str, str]
    shapes: dict[str, tuple[int, ...]]


def _unreadable(origin: str, failure: BaseException) -> WeightsError:
    lines = str(failure).strip().splitlines()
    reason = lines[0] if lines else type(failure).__name__
    return WeightsError(f"{origin} is not a readable safetensors file ({reason}): it is corrupt or truncated; "
                        "delete it and fetch or export it again")


@contextlib.contextmanager
def _opened(path: str | os.PathLike[str], origin: str) -> Iterator[Any]:
    """``safe_open`` on ``path`` (memory-mapped; the header is checked against the file's size when it is
    opened), with any failure of the file, there or while reading, one ``WeightsError`` line."""
    from safetensors import safe_open

    try:
        with safe_open(os.fspath(path), framework="pt") as handle:
            yield handle
    except WeightsError:
        raise
    except Exception as failure:  # SafetensorError, OSError, or a bad offset found while reading
        raise _unreadable(origin, failure) from None


def read_header(path: str | os.PathLike[str], origin: str) -> WeightsHeader:
    """The metadata and tensor shapes of the safetensors file ``path``, read from its header alone."""
    with _opened(path, origin) as handle:
        metadata = dict(handle.metadata() or {})
        shapes = {name: tuple(int(n) for n in handle.get_slice(name).get_shape()) for name in handle.keys()}  # noqa: SIM118
    return WeightsHeader({str(k): str(v) for k, v in metadata.items()}, shapes)


def read_tensors(path: str | os.PathLike[str], origin: str, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """The tensors ``names`` of the safetensors file ``path``, each copied out of the memory-mapped file;
    the file's other tensors are never read."""
    with _opened(path, origin) as handle:
        return {name: handle.get_tensor(name) for name in names}


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + (",)" if len(shape) == 1 else ")")


def _first(names: Sequence[str], count: int = 4) -> str:
    shown = ", ".join(repr(n) for n in names[:count])
    return shown + (f" and {len(names) - count} more" if len(names) > count else "")


def takes_average(keys: Iterable[str], ema: bool) -> bool:
    """Whether a file with tensors ``keys`` loads as the generator's moving average: asked for, and there."""
    return ema and any(key.startswith(EMA_PREFIX) for key in keys)


def generator_state(tensors: Mapping[str, Any], origin: str, *, ema: bool = True) -> dict[str, Any]:
    """The generator's entries of a ganzoo weights file (tensors, or their shapes), without their prefix.

    A file may hold the generator's moving average (``generator_ema.*``, see ``ganzoo train --ema``) next
    to, or instead of, the trained weights (``generator.*``). ``ema=True`` takes the average where there
    is one; ``ema=False`` the trained weights, which a file with only the average does not have.
    """
    def under(prefix: str) -> dict[str, Any]:
        return {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}

    averaged, trained = under(EMA_PREFIX), under(_PREFIX)
    if takes_average(tensors, ema):
        return averaged
    if trained:
        return trained
    if averaged:
        raise WeightsError(f"{origin} holds only the generator's moving average ('generator_ema.*'), not its "
                           "trained weights; load it with ema=True")
    raise WeightsError(
        f"{origin} holds no generator tensors (names starting with 'generator.'); it was not written by ganzoo"
    )


def check_generator_shapes(
    expected: Mapping[str, Sequence[int]], found: Mapping[str, Sequence[int]], origin: str
) -> None:
    """Refuse a generator state whose tensor shapes (``found``, keys without ``generator.``) are not the
    model's (``expected``): every tensor the model has must be there with its shape (only BatchNorm's step
    counters, which inference never reads, may be absent), and nothing else. The error names the tensor
    and both shapes, or the missing and unexpected tensors. Compared before the model is built for real
    (its shapes come from the meta device), so a file cannot make ganzoo allocate what it does not hold.
    """
    mismatched = [k for k, v in expected.items() if k in found and tuple(found[k]) != tuple(v)]
    if mismatched:
        key = mismatched[0]
        more = f" ({len(mismatched) - 1} more tensors differ)" if len(mismatched) > 1 else ""
        raise WeightsError(
            f"tensor '{_PREFIX}{key}' has shape {_shape(found[key])} in {origin} but the model expects "
            f"{_shape(expected[key])}: the file is for a different configuration{more}"
        )
    missing = [_PREFIX + k for k in expected if k not in found and not k.endswith("num_batches_tracked")]
    unexpected = [_PREFIX + k for k in found if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"lacks {len(missing)} tensors the model expects ({_first(missing)})")
        if unexpected:
            parts.append(f"has {len(unexpected)} that it does not ({_first(unexpected)})")
        raise WeightsError(f"{origin} " + " and ".join(parts) + ": the file is for a different model")


def load_generator_state(generator: nn.Module, state: Mapping[str, torch.Tensor], origin: str) -> None:
    """Copy a generator state (keys without ``generator.``) into ``generator``, refusing misfits
    (:func:`check_generator_shapes`). Stored float16/bfloat16 values are upcast to the module's dtype."""
    expected = generator.state_dict()
    check_generator_shapes({k: v.shape for k, v in expected.items()}, {k: v.shape for k, v in state.items()}, origin)
    loaded = {}
    for key, target in expected.items():
        value = state.get(key, target)
        if value.is_floating_point() or target.is_floating_point():
            value = value.to(dtype=target.dtype)
        loaded[key] = value
    generator.load_state_dict(loaded, strict=True)


def cached_weights_path(spec: ModelSpec, weights: WeightsSpec, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the cache keeps ``spec.name.weights.tag``: named with its hash, so that a new
    release of the weights never collides with an old cached file."""
    return default_cache_dir(cache_dir) / f"{spec.name}.{weights.tag}-{weights.sha256[:12]}.safetensors"


@contextlib.contextmanager
def _packaged_file(weights: WeightsSpec) -> Iterator[Path | None]:
    """The packaged weights file as a path on disk (a zipped package's, extracted for the while); None if absent."""
    if not (weights.package and weights.filename):
        yield None
        return
    from importlib import resources

    try:
        resource = resources.files(weights.package) / weights.filename
        present = resource.is_file()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        present = False
    if not present:
        yield None
        return
    with resources.as_file(resource) as path:
        yield Path(path)


def download_file(
    url: str, destination: Path, sha256: str | None, what: str, timeout: float = DOWNLOAD_TIMEOUT_S
) -> None:
    """Fetch ``url`` to ``destination`` through :func:`ganzoo.io.files.write_atomic`; the hash is checked
    before the rename, so a wrong or cut-off download never takes the destination's name."""
    shown = redact(url)  # the URL as messages and the log show it: no password
    log.info("downloading %s from %s", what, shown)

    def fetch(file: BinaryIO) -> None:
        digest = hashlib.sha256()
        request = urllib.request.Request(url, headers={"User-Agent": f"ganzoo/{__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    file.write(chunk)
        except urllib.error.HTTPError as failure:
            raise WeightsError(f"cannot download {what} from {shown}: HTTP {failure.code} {failure.reason}") from None
        except (urllib.error.URLError, OSError) as failure:
            reason = redact(str(getattr(failure, "reason", None) or failure))
            raise WeightsError(
                f"cannot download {what} from {shown}: {reason}; check the network, or put the file at {destination}"
            ) from None
        actual = digest.hexdigest()
        if sha256 and actual != sha256:
            raise WeightsError(
                f"{what} downloaded from {shown} has sha256 {actual} but {sha256} was expected; "
                "the file was discarded"
            )

    write_atomic(destination, fetch)


@contextlib.contextmanager
def fetch_weights(
    spec: ModelSpec,
    weights: WeightsSpec,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> Iterator[tuple[Path, str]]:
    """``(path, origin)`` of a registry weights file, for the ``with`` block, and where it came from.

    The packaged file, else the cached one, else a download into the cache, each checked
    against ``weights.sha256``. A packaged file whose hash disagrees with the registry is a
    packaging fault and an error; a cached one is stale or damaged and is fetched again.
    """
    what = f"weights '{spec.name}.{weights.tag}'"
    with _packaged_file(weights) as packaged:
        if packaged is not None:
            actual = file_sha256(packaged)
            if actual != weights.sha256:
                raise WeightsError(
                    f"the packaged file {weights.package}/{weights.filename} has sha256 {actual} but the registry "
                    f"expects {weights.sha256}: reinstall ganzoo (or the plugin {spec.plugin or '?'})"
                )
            yield packaged, f"{weights.package}/{weights.filename}"
            return
    cached = cached_weights_path(spec, weights, cache_dir)
    if cached.is_file():
        if file_sha256(cached) == weights.sha256:
            yield cached, str(cached)
            return
        if not download or not weights.url:
            raise WeightsError(
                f"the cached {what} at {cached} fail their sha256 check; delete the file"
                + (" and allow downloading" if weights.url else "")
            )
        log.warning("cached %s at %s fail their sha256 check; fetching them again", what, cached)
        cached.unlink(missing_ok=True)
    if not weights.url:
        raise WeightsError(f"{what} are not packaged and not in the cache ({cached}), and have no URL")
    if not download:
        raise WeightsError(f"{what} are not packaged and not in the cache ({cached}); allow downloading")
    download_file(weights.url, cached, weights.sha256, what, timeout)
    yield cached, str(cached)


def sha256_hex(sha256: str | None) -> str | None:
    """A user-given sha256, normalised to lower case; anything but 64 hex digits is refused."""
    if sha256 is None:
        return None
    value = str(sha256).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ConfigError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    return value


def check_sha256(path: str | os.PathLike[str], expected: str | None, origin: str) -> None:
    """Refuse the file at ``path`` unless its sha256 is ``expected`` (no check when ``expected`` is None)."""
    expected = sha256_hex(expected)
    if expected is None:
        return
    actual = file_sha256(path)
    if actual != expected:
        raise WeightsError(f"{origin} has sha256 {actual} but {expected} was expected")
