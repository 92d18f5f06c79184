"""The one scoring path of every evaluation: reference features, the source's features, the metrics, the record.

A model evaluation and the real-data floor differ only in their :class:`~.sources.Source`;
everything that makes their numbers comparable (the seed, the reference subset, the
extractor, KID's and precision/recall's constants, the record) happens here once.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from .classes import class_coverage, conditional_accuracy
from .fid import fid_from_stats
from .kid import kid
from .precision_recall import precision_recall
from .protocol import EvalProtocol, EvalResult, protocol_record
from .reference import Setting, real_feature_set
from .sources import Source, isolated_seed
from .stats import FeatureSet

__all__ = ["image_handling", "measure", "scores"]


def scores(
    real: FeatureSet,
    other: FeatureSet,
    extractor: Any,
    requested: torch.Tensor | None,
    protocol: EvalProtocol,
    device: Any,
) -> tuple[dict[str, float | int], dict[str, Any]]:
    """FID, KID, precision/recall and (for a classifier) class coverage of ``other`` against ``real``."""
    metrics: dict[str, float | int] = {"fid": fid_from_stats(other.mu, other.sigma, real.mu, real.sigma)}
    kid_mean, kid_std = kid(
        other.features, real.features, subset_size=protocol.kid_subset_size, subsets=protocol.kid_subsets,
        seed=protocol.seed,
    )
    metrics["kid_mean"], metrics["kid_std"] = kid_mean, kid_std
    pr_device = device if str(device).startswith("cuda") else "cpu"
    metrics["precision"], metrics["recall"] = precision_recall(
        real.features.to(pr_device), other.features.to(pr_device), k=protocol.pr_k
    )
    details: dict[str, Any] = {}
    num_classes = getattr(extractor, "num_classes", None)
    if other.predictions is not None and num_classes:
        coverage = class_coverage(other.predictions, num_classes)
        metrics["classes_covered"] = coverage.covered
        metrics["class_tv"] = coverage.total_variation
        metrics["class_kl"] = coverage.kl_to_uniform
        details["class_shares"] = list(coverage.shares)
        if real.predictions is not None:
            details["real_class_shares"] = list(class_coverage(real.predictions, num_classes).shares)
        if requested is not None:
            metrics["conditional_accuracy"] = conditional_accuracy(other.predictions, requested)
    return metrics, details


def image_handling(extractor: Any, shape: tuple[int, ...], clamp: bool) -> str:
    """How samples reach the extractor, in words, for the record."""
    size = "x".join(str(s) for s in shape[1:]) if len(shape) == 3 else f"{shape[0]}-d points"
    channels = f"{shape[0]} channel(s) " if len(shape) == 3 else ""
    handled = getattr(extractor, "input_note", "as the extractor takes them")
    prefix = "generated values clamped to [-1, 1]; " if clamp else ""
    return f"{prefix}real uint8 mapped to [-1, 1] as x/127.5-1; {channels}{size} samples; extractor input: {handled}"


def measure(
    source: Source,
    dataset: Any,
    protocol: EvalProtocol,
    *,
    data_dir: Any,
    extractor_options: dict[str, Any] | None,
    batch_size: int,
    device: Any,
    image_size: int | None,
    cache: bool,
    progress: Any,
) -> EvalResult:
    """Score ``source``'s samples against the reference split of ``dataset`` under ``protocol``."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    setting = Setting.resolve(
        dataset, protocol, extractor_options=extractor_options, data_dir=data_dir, batch_size=batch_size,
        device=device, cache=cache, progress=progress,
    )
    timings["extractor"] = time.perf_counter() - started
    source.prepare(setting, protocol)

    with isolated_seed(protocol.seed, device):
        image_size = source.image_size(setting, protocol, image_size)
        tick = time.perf_counter()
        real, reference = real_feature_set(
            setting, split=setting.split, n=protocol.n, subset_seed=protocol.reference_seed,
            image_size=image_size, stage="real", min_samples=protocol.min_samples,
        )
        timings["real_features"] = time.perf_counter() - tick
        tick = time.perf_counter()
        other = source.features(setting, protocol, reference, image_size)
        timings["generated_features"] = time.perf_counter() - tick

    tick = time.perf_counter()
    metrics, details = scores(real, other.features, setting.extractor, other.requested, protocol, device)
    timings["metrics"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - started
    record = protocol_record(
        protocol, dataset=setting.spec.name, extractor=setting.extractor, note=setting.note,
        generated=other.generated, generated_count=len(other.features), real=real,
        reference_split=setting.split, real_total=len(reference),
        image_handling=image_handling(setting.extractor, tuple(reference.sample_shape), clamp=other.clamped),
        conditional=other.conditional, device=device, extra=other.record,
    )
    return EvalResult(metrics=metrics, protocol=record, details=details, timings=timings)
