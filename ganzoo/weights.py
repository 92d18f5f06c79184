"""Weights files: finding them (package, cache, download), checking their hash, reading them.

Only safetensors files are read, from bytes held in memory: the zoo's files are a few
megabytes, and holding them lets one read serve both the sha256 check and the parse, so
the bytes that were checked are the bytes that are used. Nothing is ever unpickled.
Downloads go to a temporary file in the cache directory and are renamed into place only
after their sha256 matched; a file that fails is deleted, never kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import torch
from torch import nn

from ._version import __version__
from .errors import ConfigError, WeightsError, redact
from .files import write_atomic
from .paths import cache_dir as default_cache_dir
from .specs import ModelSpec, WeightsSpec

__all__ = [
    "DOWNLOAD_TIMEOUT_S",
    "cached_weights_path",
    "check_sha256",
    "download_file",
    "fetch_weights",
    "generator_state",
    "load_generator_state",
    "read_safetensors",
    "sha256_hex",
]

log = logging.getLogger("ganzoo")

DOWNLOAD_TIMEOUT_S = 60.0
"""Seconds a download may wait on the server before it is abandoned."""

_PREFIX = "generator."
EMA_PREFIX = "generator_ema."


def read_safetensors(data: bytes, origin: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file held in memory; a corrupt file is a WeightsError.

    The header is parsed here (an 8-byte length and JSON) so that a truncated or foreign
    file gets one clear line instead of a parser's traceback; the tensors are read by
    ``safetensors.torch.load``, which never executes code from the file.
    """
    from safetensors.torch import load as load_tensors

    def corrupt(reason: str) -> WeightsError:
        return WeightsError(f"{origin} is not a readable safetensors file ({reason}); delete it and fetch it again")

    if len(data) < 8:
        raise corrupt(f"only {len(data)} bytes")
    header_size = int.from_bytes(data[:8], "little")
    if header_size <= 0 or 8 + header_size > len(data):
        raise corrupt("truncated header" if header_size > 0 else "empty header")
    try:
        header = json.loads(data[8 : 8 + header_size])
    except (UnicodeDecodeError, ValueError):
        raise corrupt("its header is not JSON") from None
    if not isinstance(header, dict):
        raise corrupt("its header is not a JSON object")
    metadata = header.get("__metadata__") or {}
    try:
        tensors = load_tensors(data)
    except Exception as failure:  # safetensors raises its own SafetensorError, or others on bad offsets
        message = str(failure).strip().splitlines()
        raise corrupt(message[0] if message else type(failure).__name__) from None
    return tensors, {str(k): str(v) for k, v in metadata.items()}


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + (",)" if len(shape) == 1 else ")")


def _first(names: Sequence[str], count: int = 4) -> str:
    shown = ", ".join(repr(n) for n in names[:count])
    return shown + (f" and {len(names) - count} more" if len(names) > count else "")


def takes_average(keys: Iterable[str], ema: bool) -> bool:
    """Whether a file with tensors ``keys`` loads as the generator's moving average: asked for, and there."""
    return ema and any(key.startswith(EMA_PREFIX) for key in keys)


def generator_state(tensors: Mapping[str, torch.Tensor], origin: str, *, ema: bool = True) -> dict[str, torch.Tensor]:
    """The generator's tensors of a ganzoo weights file, without their prefix.

    A file may hold the generator's moving average (``generator_ema.*``, see ``ganzoo train --ema``) next
    to, or instead of, the trained weights (``generator.*``). ``ema=True`` takes the average where there
    is one; ``ema=False`` the trained weights, which a file with only the average does not have.
    """
    def under(prefix: str) -> dict[str, torch.Tensor]:
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


def load_generator_state(generator: nn.Module, state: Mapping[str, torch.Tensor], origin: str) -> None:
    """Copy a generator state (keys without ``generator.``) into ``generator``, refusing misfits.

    Every tensor the module expects must be present with the same shape (only BatchNorm's
    step counters, which inference never reads, may be absent), and nothing else may be
    there. Errors name the tensor and both shapes. Stored float16/bfloat16 values are
    upcast to the module's dtype.
    """
    expected = generator.state_dict()
    mismatched = [k for k, v in expected.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if mismatched:
        key = mismatched[0]
        more = f" ({len(mismatched) - 1} more tensors differ)" if len(mismatched) > 1 else ""
        raise WeightsError(
            f"tensor '{_PREFIX}{key}' has shape {_shape(state[key].shape)} in {origin} but the model expects "
            f"{_shape(expected[key].shape)}: the file is for a different configuration{more}"
        )
    missing = [_PREFIX + k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [_PREFIX + k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"lacks {len(missing)} tensors the model expects ({_first(missing)})")
        if unexpected:
            parts.append(f"has {len(unexpected)} that it does not ({_first(unexpected)})")
        raise WeightsError(f"{origin} " + " and ".join(parts) + ": the file is for a different model")
    loaded = {}
    for key, target in expected.items():
        value = state.get(key, target)
        if value.is_floating_point() or target.is_floating_point():
            value = value.to(dtype=target.dtype)
        loaded[key] = value
    generator.load_state_dict(loaded, strict=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cached_weights_path(spec: ModelSpec, weights: WeightsSpec, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the cache keeps ``spec.name.weights.tag``: named with its hash, so that a new
    release of the weights never collides with an old cached file."""
    return default_cache_dir(cache_dir) / f"{spec.name}.{weights.tag}-{weights.sha256[:12]}.safetensors"


def _packaged_bytes(weights: WeightsSpec) -> bytes | None:
    if not (weights.package and weights.filename):
        return None
    from importlib import resources

    try:
        resource = resources.files(weights.package) / weights.filename
        if not resource.is_file():
            return None
        return resource.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return None


def download_file(
    url: str, destination: Path, sha256: str | None, what: str, timeout: float = DOWNLOAD_TIMEOUT_S
) -> None:
    """Fetch ``url`` to ``destination`` through :func:`ganzoo.files.write_atomic`; the hash is checked
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


def fetch_weights(
    spec: ModelSpec,
    weights: WeightsSpec,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> tuple[bytes, str]:
    """The bytes of a registry weights file and a description of where they came from.

    The packaged file, else the cached one, else a download into the cache, each checked
    against ``weights.sha256``. A packaged file whose hash disagrees with the registry is a
    packaging fault and an error; a cached one is stale or damaged and is fetched again.
    """
    what = f"weights '{spec.name}.{weights.tag}'"
    packaged = _packaged_bytes(weights)
    if packaged is not None:
        actual = _sha256(packaged)
        if actual != weights.sha256:
            raise WeightsError(
                f"the packaged file {weights.package}/{weights.filename} has sha256 {actual} but the registry "
                f"expects {weights.sha256}: reinstall ganzoo (or the plugin {spec.plugin or '?'})"
            )
        return packaged, f"{weights.package}/{weights.filename}"
    cached = cached_weights_path(spec, weights, cache_dir)
    if cached.is_file():
        data = cached.read_bytes()
        if _sha256(data) == weights.sha256:
            return data, str(cached)
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
    return cached.read_bytes(), str(cached)


def sha256_hex(sha256: str | None) -> str | None:
    """A user-given sha256, normalised to lower case; anything but 64 hex digits is refused."""
    if sha256 is None:
        return None
    value = str(sha256).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ConfigError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    return value


def check_sha256(data: bytes, expected: str | None, origin: str) -> None:
    """Refuse ``data`` whose sha256 is not ``expected`` (no check when ``expected`` is None)."""
    expected = sha256_hex(expected)
    if expected is not None and _sha256(data) != expected:
        raise WeightsError(f"{origin} has sha256 {_sha256(data)} but {expected} was expected")
