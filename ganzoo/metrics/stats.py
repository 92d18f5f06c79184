"""Real-data features, extracted once per (data, extractor) and cached on disk.

Every evaluation of every model compares against the same real features; extracting them
again costs as much as the whole evaluation (minutes with Inception on a CPU). They are
stored as safetensors under ``<cache>/stats/<key>.safetensors``, where ``<cache>`` is the
one cache directory the weights use (:func:`ganzoo.io.paths.cache_dir`: ``$GANZOO_CACHE_DIR``,
else ``~/.cache/ganzoo/weights``). The key hashes everything that changes the features:
dataset name, split, extractor name, the sha256 of the extractor's weights, the number of
samples, the sample shape and a sha256 of the sample bytes themselves (so a re-downloaded or
edited image folder with the same name is never mistaken for the old one). Files are written
with :mod:`ganzoo.io.files` (a temporary name, then a rename), so an interrupted run never leaves a
truncated cache entry.

The whole feature matrix is cached, not just its mean and covariance: KID and
precision/recall need the individual features.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganzoo.io.files import write_cache
from ganzoo.io.paths import cache_dir
from ganzoo.nn import uint8_to_unit

from .extractors import extract_batch
from .fid import feature_stats

__all__ = [
    "CACHE_FORMAT",
    "FeatureSet",
    "compute_features",
    "data_fingerprint",
    "real_features",
    "stats_dir",
    "stats_key",
]

CACHE_FORMAT = "1"
"""Bumped when the cached content changes meaning; part of every key."""


@dataclass
class FeatureSet:
    """Features of one set of samples with their Gaussian fit and, for classifiers, predictions."""

    features: torch.Tensor
    mu: torch.Tensor
    sigma: torch.Tensor
    predictions: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    """True labels of the samples, when the data has them."""
    key: str = ""
    path: Path | None = None
    cache_hit: bool = False

    def __len__(self) -> int:
        return len(self.features)


def stats_dir(cache: str | os.PathLike[str] | None = None) -> Path:
    """Where real-data features are cached: ``stats/`` in :func:`ganzoo.io.paths.cache_dir` (``cache`` overrides it)."""
    return cache_dir(cache) / "stats"


def data_fingerprint(samples: torch.Tensor) -> str:
    """sha256 of the samples' bytes (with their shape and dtype)."""
    digest = hashlib.sha256(f"{tuple(samples.shape)}|{samples.dtype}".encode())
    digest.update(samples.detach().to("cpu").contiguous().numpy().tobytes())
    return digest.hexdigest()


def stats_key(
    *,
    dataset: str,
    split: str,
    extractor: str,
    weights_sha256: str,
    count: int,
    fingerprint: str = "",
    extra: dict[str, Any] | None = None,
) -> str:
    """The cache key: a sha256 over everything that determines the features (first 32 hex digits)."""
    fields = {
        "format": CACHE_FORMAT,
        "dataset": dataset,
        "split": split,
        "extractor": extractor,
        "weights_sha256": weights_sha256,
        "count": int(count),
        "fingerprint": fingerprint,
        "extra": extra or {},
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def compute_features(
    extractor: Any,
    samples: torch.Tensor,
    *,
    batch_size: int = 500,
    device: str | torch.device = "cpu",
    progress: Callable[[int], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Features (and predictions) of stored samples: uint8 images are mapped to ``[-1, 1]`` per batch."""
    feature_parts: list[torch.Tensor] = []
    prediction_parts: list[torch.Tensor] = []
    for start in range(0, len(samples), batch_size):
        batch = samples[start : start + batch_size].to(device)
        if batch.dtype == torch.uint8:
            batch = uint8_to_unit(batch)
        features, predictions = extract_batch(extractor, batch.float())
        feature_parts.append(features)
        if predictions is not None:
            prediction_parts.append(predictions)
        if progress is not None:
            progress(len(batch))
    features = torch.cat(feature_parts)
    predictions = torch.cat(prediction_parts) if len(prediction_parts) == len(feature_parts) else None
    return features, predictions


def _load(path: Path, key: str) -> FeatureSet | None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
        return FeatureSet(
            features=tensors["features"],
            mu=tensors["mu"],
            sigma=tensors["sigma"],
            predictions=tensors.get("predictions"),
            labels=tensors.get("labels"),
            key=key,
            path=path,
            cache_hit=True,
        )
    except (SafetensorError, OSError, KeyError):  # a damaged entry is recomputed, not trusted
        return None


def _save(path: Path, result: FeatureSet, metadata: dict[str, str]) -> Path | None:
    from safetensors.torch import save_file

    tensors = {"features": result.features, "mu": result.mu, "sigma": result.sigma}
    if result.predictions is not None:
        tensors["predictions"] = result.predictions
    if result.labels is not None:
        tensors["labels"] = result.labels
    contiguous = {k: v.contiguous() for k, v in tensors.items()}
    return write_cache(path, lambda file: save_file(contiguous, file.name, metadata=metadata),
                       what="the reference statistics cache")


def real_features(
    samples: torch.Tensor,
    labels: torch.Tensor | None,
    *,
    dataset: str,
    split: str,
    extractor: Any,
    batch_size: int = 500,
    device: str | torch.device = "cpu",
    cache: bool = True,
    extra: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> FeatureSet:
    """Features of real ``samples`` from the cache, or extracted and then cached.

    ``extra`` holds further facts that select the samples (the subset seed, the image
    size), hashed into the key alongside the data fingerprint.
    """
    weights = str(getattr(extractor, "weights_sha256", "unknown"))
    name = str(getattr(extractor, "name", type(extractor).__name__))
    key = stats_key(
        dataset=dataset,
        split=split,
        extractor=name,
        weights_sha256=weights,
        count=len(samples),
        fingerprint=data_fingerprint(samples),
        extra=extra,
    )
    path = stats_dir() / f"{key}.safetensors"
    if cache and path.is_file():
        loaded = _load(path, key)
        if loaded is not None and len(loaded.features) == len(samples):
            return loaded
    features, predictions = compute_features(
        extractor, samples, batch_size=batch_size, device=device, progress=progress
    )
    mu, sigma = feature_stats(features)
    result = FeatureSet(
        features=features,
        mu=mu,
        sigma=sigma,
        predictions=predictions,
        labels=labels.to("cpu", torch.int64) if labels is not None else None,
        key=key,
        path=path if cache else None,
    )
    if cache:
        metadata = {
            "format": "ganzoo-stats",
            "cache_format": CACHE_FORMAT,
            "dataset": dataset,
            "split": split,
            "extractor": name,
            "weights_sha256": weights,
            "count": str(len(samples)),
            "extra": json.dumps(extra or {}, sort_keys=True),
        }
        result.path = _save(path, result, metadata)  # None: it could not be cached (said once)
    return result
