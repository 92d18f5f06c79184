"""Which real samples an evaluation uses, and their (cached) features.

Both sides of the floor (:func:`~ganzoo.metrics.evaluate_real`) and the reference side of
every model evaluation come through :func:`real_feature_set`: a split, a seeded subset of
it when it is larger than ``n``, optionally disjoint from another seeded subset of the
same split (a single-split dataset compared with itself).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ganzoo.errors import ConfigError

from .extractors import resolve_extractor
from .stats import FeatureSet, real_features

__all__ = ["Setting", "check_memory", "default_split", "real_feature_set", "resolve_dataset", "select", "subset"]

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``, called as work advances (stages: "real", "generated")."""


def resolve_dataset(dataset: Any) -> Any:
    """A registered dataset name, or a ``DatasetSpec`` as it is."""
    if isinstance(dataset, str):
        from ganzoo.registry.catalog import get_dataset_spec

        return get_dataset_spec(dataset)
    if hasattr(dataset, "load") and hasattr(dataset, "name"):
        return dataset
    raise ConfigError(f"dataset must be a registered name or a DatasetSpec, got {dataset!r}")


def default_split(spec: Any, split: str | None) -> str:
    """``split``, or the dataset's ``test`` split, or (image folders) its first and only split."""
    if split is not None:
        return split
    return "test" if "test" in spec.splits else spec.splits[0]


@dataclass(frozen=True)
class Setting:
    """What one evaluation works with once its names are resolved: data, extractor and where to run."""

    spec: Any
    split: str
    """The reference split."""
    extractor: Any
    note: str
    data_dir: Any
    batch_size: int
    device: Any
    cache: bool
    progress: Progress | None
    reference_stats: Any = None
    """A :class:`~ganzoo.metrics.refstats.ReferenceStats` that stands in for the reference split, or None."""

    @classmethod
    def resolve(
        cls,
        dataset: Any,
        protocol: Any,
        *,
        extractor_options: dict[str, Any] | None,
        data_dir: Any,
        batch_size: int,
        device: Any,
        cache: bool,
        progress: Progress | None,
        reference_stats: Any = None,
    ) -> Setting:
        """``reference_stats``: a statistics file (path) or loaded statistics, checked against the extractor."""
        from .refstats import ReferenceStats, load_reference_stats

        spec = resolve_dataset(dataset)
        point_data = spec.sample_shape is not None and len(spec.sample_shape) == 1
        if reference_stats is not None and not isinstance(reference_stats, ReferenceStats):
            reference_stats = load_reference_stats(reference_stats)  # before the extractor: a bad file fails fast
        resolved = resolve_extractor(
            protocol.extractor, dataset=spec.name, point_data=point_data, device=device, options=extractor_options
        )
        if reference_stats is not None:
            reference_stats.check_extractor(resolved.extractor)
        return cls(
            spec=spec, split=default_split(spec, protocol.split), extractor=resolved.extractor, note=resolved.note,
            data_dir=data_dir, batch_size=batch_size, device=device, cache=cache, progress=progress,
            reference_stats=reference_stats,
        )


def check_memory(setting: Setting, sample_shape: tuple[int, ...], n: int) -> None:
    """Refuse, before any feature is extracted, an evaluation whose parts held at once cannot fit in memory.

    The features of both sides are kept (FID, KID and precision/recall need all of them), and
    precision/recall's nearest neighbours take blocks of ``BLOCK_ROWS`` rows of distances to every
    sample; a batch of samples is held as float32 twice (the batch and the extractor's input).
    """
    from ganzoo.io.files import describe_size
    from ganzoo.io.memory import require_memory

    from .precision_recall import BLOCK_ROWS

    feature_dim = int(getattr(setting.extractor, "feature_dim", 0) or 0)
    parts = {
        "the features": 2 * n * feature_dim * 4 + BLOCK_ROWS * n * 4,
        "a batch": 2 * setting.batch_size * math.prod(sample_shape) * 4,
    }
    biggest = max(parts, key=lambda name: parts[name])
    size = "x".join(str(s) for s in sample_shape)
    require_memory(
        sum(parts.values()),
        what=f"evaluating {n:,} samples (-n) of {size} in batches of {setting.batch_size} (--batch-size) "
        f"({biggest}: {describe_size(parts[biggest])})",
        fix="lower -n" if biggest == "the features" else "lower --batch-size or --image-size",
    )


def subset(count: int, total: int, seed: int) -> torch.Tensor | None:
    """Sorted indices of ``count`` of ``total`` samples chosen with ``seed`` (None: take them all)."""
    if count >= total:
        return None
    chosen = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:count]
    return chosen.sort().values


def select(
    total: int, count: int, seed: int, exclude_seed: int | None = None, *, min_samples: int = 5
) -> torch.Tensor | None:
    """Indices of up to ``count`` samples; with ``exclude_seed``, none of those :func:`subset` picks with it.

    The exclusion gives a single-split dataset (an image folder) a floor made of two
    disjoint sets of real images instead of a set compared with itself.
    """
    if exclude_seed is None:
        return subset(count, total, seed)
    excluded = subset(count, total, exclude_seed)
    if excluded is None or total - len(excluded) < min_samples:
        raise ConfigError(
            f"the split has {total} samples, too few for two disjoint sets of {count}; pass a smaller n"
        )
    keep = torch.ones(total, dtype=torch.bool)
    keep[excluded] = False
    rest = keep.nonzero()[:, 0]
    picked = subset(count, len(rest), seed)
    return rest if picked is None else rest[picked]


def real_feature_set(
    setting: Setting,
    *,
    split: str,
    n: int,
    subset_seed: int,
    image_size: int | None,
    stage: str,
    min_samples: int,
    exclude_seed: int | None = None,
) -> tuple[FeatureSet, Any]:
    """Features of up to ``n`` samples of ``split`` (seeded subset when the split is larger), and the split."""
    spec = setting.spec
    data = spec.load(setting.data_dir, split, image_size=image_size)
    if len(data) < min_samples:
        raise ConfigError(f"dataset {spec.name!r} split {split!r} has only {len(data)} samples")
    check_memory(setting, tuple(data.sample_shape), min(n, len(data)))
    chosen = select(len(data), n, subset_seed, exclude_seed, min_samples=min_samples)
    samples = data.samples if chosen is None else data.samples[chosen]
    labels = None if data.labels is None else (data.labels if chosen is None else data.labels[chosen])
    total = len(samples)
    done = 0
    progress = setting.progress

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(stage, done, total)

    features = real_features(
        samples,
        labels,
        dataset=spec.name,
        split=split,
        extractor=setting.extractor,
        batch_size=setting.batch_size,
        device=setting.device,
        cache=setting.cache,
        extra={
            "subset_seed": subset_seed if chosen is not None else None,
            "exclude_seed": exclude_seed,
            "image_size": image_size,
        },
        progress=advance,
    )
    if progress is not None and features.cache_hit:
        progress(stage, total, total)
    return features, data
