"""ganzoo's evaluation metrics: FID, KID, precision/recall, class coverage, conditional accuracy.

Everything here works offline and states its protocol. The main entry points:

- :func:`evaluate` scores any ``sampler(n, labels)`` against a dataset split;
- :func:`evaluate_model` does so for a ganzoo generator (``ganzoo.load(...)``);
- :func:`evaluate_real` scores real data against real data: the floor to read numbers by;
- the metric functions on features (:func:`fid`, :func:`kid`, :func:`precision_recall`,
  :func:`class_coverage`, :func:`conditional_accuracy`) for use outside ganzoo's protocol.

This package imports torch; ``import ganzoo`` does not import it.
"""

from __future__ import annotations

from .classes import ClassCoverage, class_coverage, conditional_accuracy
from .evaluate import (
    EvalProtocol,
    EvalResult,
    balanced_labels,
    evaluate,
    evaluate_model,
    evaluate_real,
    model_sampler,
)
from .extractors import IdentityExtractor, extract_batch, resolve_extractor
from .fid import feature_stats, fid, fid_from_stats
from .kid import kid, mmd2_unbiased, polynomial_kernel
from .precision_recall import knn_radii, precision_recall
from .stats import FeatureSet, compute_features, real_features, stats_dir, stats_key

__all__ = [
    "ClassCoverage",
    "EvalProtocol",
    "EvalResult",
    "FeatureSet",
    "IdentityExtractor",
    "balanced_labels",
    "class_coverage",
    "compute_features",
    "conditional_accuracy",
    "evaluate",
    "evaluate_model",
    "evaluate_real",
    "extract_batch",
    "feature_stats",
    "fid",
    "fid_from_stats",
    "kid",
    "knn_radii",
    "mmd2_unbiased",
    "model_sampler",
    "polynomial_kernel",
    "precision_recall",
    "real_features",
    "resolve_extractor",
    "stats_dir",
    "stats_key",
]
