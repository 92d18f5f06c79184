"""The one scoring path of every evaluation: reference features, the source's features, the metrics, the record.

A model evaluation and the real-data floor differ only in their :class:`~.sources.Source`;
everything that makes their numbers comparable (the seed, the reference subset, the
extractor, KID's and precision/recall's constants, the record) happens here once.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from ganzoo.errors import ConfigError

from .classes import class_coverage, conditional_accuracy
from .fid import fid_from_stats
from .kid import kid
from .precision_recall import precision_recall
from .protocol import EvalProtocol, EvalResult, protocol_record
from .reference import Setting, real_feature_set
from .refstats import ReferenceStats, save_reference_stats
from .sources import Source, isolated_seed
from .stats import FeatureSet

__all__ = ["image_handling", "measure", "scores"]


def scores(
    real: FeatureSet | ReferenceStats,
    other: FeatureSet,
    extractor: Any,
    requested: torch.Tensor | None,
    protocol: EvalProtocol,
    device: Any,
) -> tuple[dict[str, float | int], dict[str, Any]]:
    """FID, KID, precision/recall and (for a classifier) class coverage of ``other`` against ``real``.

    Against a statistics file (:class:`~.refstats.ReferenceStats`: a mean and a covariance) only FID
    and the class coverage of ``other`` can be measured.
    """
    metrics: dict[str, float | int] = {"fid": fid_from_stats(other.mu, other.sigma, real.mu, real.sigma)}
    details: dict[str, Any] = {}
    if isinstance(real, FeatureSet):
        _feature_scores(metrics, real, other, protocol, device)
    num_classes = getattr(extractor, "num_classes", None)
    if other.predictions is not None and num_classes:
        coverage = class_coverage(other.predictions, num_classes)
        metrics["classes_covered"] = coverage.covered
        metrics["class_tv"] = coverage.total_variation
        metrics["class_kl"] = coverage.kl_to_uniform
        details["class_shares"] = list(coverage.shares)
        if getattr(real, "predictions", None) is not None:
            details["real_class_shares"] = list(class_coverage(real.predictions, num_classes).shares)
        if requested is not None:
            metrics["conditional_accuracy"] = conditional_accuracy(other.predictions, requested)
    return metrics, details


def _feature_scores(
    metrics: dict[str, float | int], real: FeatureSet, other: FeatureSet, protocol: EvalProtocol, device: Any
) -> None:
    """KID and precision/recall: they need the reference's features, not only its mean and covariance."""
    kid_mean, kid_std = kid(
        other.features, real.features, subset_size=protocol.kid_subset_size, subsets=protocol.kid_subsets,
        seed=protocol.seed,
    )
    metrics["kid_mean"] = kid_mean
    if math.isfinite(kid_std):  # NaN: every subset was the whole set, so there is no spread (the protocol says so)
        metrics["kid_std"] = kid_std
    pr_device = device if str(device).startswith("cuda") else "cpu"
    metrics["precision"], metrics["recall"] = precision_recall(
        real.features.to(pr_device), other.features.to(pr_device), k=protocol.pr_k
    )


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
    reference_stats: Any = None,
    save_stats: Any = None,
) -> EvalResult:
    """Score ``source``'s samples against the reference split of ``dataset`` under ``protocol``.

    ``reference_stats`` (an ``.npz`` path or :class:`~.refstats.ReferenceStats`) stands in for the
    reference split: no data is loaded for it and only FID is measured. ``save_stats`` writes the
    reference split's mean and covariance there in pytorch-fid's ``.npz`` format.
    """
    if reference_stats is not None and save_stats is not None:
        raise ConfigError("--save-stats writes the reference split's statistics; with --reference-stats there is none")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    setting = Setting.resolve(
        dataset, protocol, extractor_options=extractor_options, data_dir=data_dir, batch_size=batch_size,
        device=device, cache=cache, progress=progress, reference_stats=reference_stats,
    )
    timings["extractor"] = time.perf_counter() - started
    source.prepare(setting, protocol)

    with isolated_seed(protocol.seed, device):
        image_size = source.image_size(setting, protocol, image_size)
        tick = time.perf_counter()
        if setting.reference_stats is None:
            real, reference = real_feature_set(
                setting, split=setting.split, n=protocol.n, subset_seed=protocol.reference_seed,
                image_size=image_size, stage="real", min_samples=protocol.min_samples,
            )
        else:
            real, reference = setting.reference_stats, None
        timings["real_features"] = time.perf_counter() - tick
        tick = time.perf_counter()
        other = source.features(setting, protocol, reference, image_size)
        timings["generated_features"] = time.perf_counter() - tick

    tick = time.perf_counter()
    metrics, details = scores(real, other.features, setting.extractor, other.requested, protocol, device)
    timings["metrics"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - started
    shape = tuple(reference.sample_shape) if reference is not None else tuple(setting.spec.sample_shape or ())
    record = protocol_record(
        protocol, dataset=setting.spec.name, extractor=setting.extractor, note=setting.note,
        generated=other.generated, generated_count=len(other.features), real=real,
        reference_split=setting.split if reference is not None else "statistics file",
        real_total=len(reference) if reference is not None else 0,
        image_handling=image_handling(setting.extractor, shape or (0,), clamp=other.clamped),
        conditional=other.conditional, device=device, extra=other.record,
    )
    if save_stats is not None:
        record["saved_stats"] = str(_save_stats(save_stats, real, record))
    return EvalResult(metrics=metrics, protocol=record, details=details, timings=timings)


def _save_stats(path: Any, real: FeatureSet, record: dict[str, Any]) -> Any:
    """The reference split's mean and covariance as an ``.npz`` pytorch-fid reads, with how they were made."""
    made_with = {
        "extractor": record["extractor"], "weights_sha256": record["extractor_weights_sha256"],
        "resize": str(record["extractor_resize"]), "input_note": record["input_note"],
        "dataset": record["dataset"], "split": record["reference_split"], "count": record["real_count"],
        "selection": record["real_selection"], "ganzoo_version": record["ganzoo_version"],
    }
    return save_reference_stats(path, real.mu, real.sigma, made_with)
