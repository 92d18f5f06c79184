"""The evaluation protocol as a value, and the result that carries it.

A FID is only comparable with another measured the same way: the same number of samples,
the same reference split and subset, the same feature extractor, the same KID subsets and
precision/recall neighbourhood. :class:`EvalProtocol` holds those choices in one frozen
value, so an evaluation states them once and every number it reports (and the record in
``EvalResult.protocol``) is derived from that value, never from module constants read in
several places.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ganzoo._version import __version__
from ganzoo.errors import ConfigError
from ganzoo.ranges import SEED

from .kid import effective_subset_size, spread_is_defined

__all__ = [
    "KID_SUBSETS",
    "KID_SUBSET_SIZE",
    "PR_K",
    "REFERENCE_SUBSET_SEED",
    "EvalProtocol",
    "EvalResult",
    "protocol_from",
    "protocol_record",
]

REFERENCE_SUBSET_SEED = 0
"""A reference split larger than ``n`` is subsampled with this fixed seed, so every model
(whatever its evaluation seed) is compared with the same real samples and the cached
features are reused."""

KID_SUBSET_SIZE = 1000
KID_SUBSETS = 100
PR_K = 3


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class EvalProtocol:
    """How an evaluation measures: every choice that changes its numbers, in one value.

    ``n`` generated (and at most ``n`` reference) samples; ``split`` the reference split
    (None: the dataset's ``test`` split, else its only one); ``extractor`` a registered
    extractor name, an extractor object, or None for the dataset's default; ``seed`` for
    latents, labels, the floor's sample subset and KID's subsets; ``reference_seed`` picks
    the reference subset (fixed, so all models meet the same real samples); KID averages
    ``kid_subsets`` subsets of ``kid_subset_size``; precision/recall use ``pr_k``-NN
    manifolds.
    """

    n: int = 10000
    split: str | None = None
    extractor: Any = None
    seed: int = 0
    reference_seed: int = REFERENCE_SUBSET_SEED
    kid_subset_size: int = KID_SUBSET_SIZE
    kid_subsets: int = KID_SUBSETS
    pr_k: int = PR_K

    def __post_init__(self) -> None:
        k = _check_int("pr_k", self.pr_k, 1)
        if isinstance(self.n, numbers.Integral) and not isinstance(self.n, bool) and self.n < k + 2:
            raise ConfigError(f"--n {self.n} is too small: the metrics need at least {k + 2} samples")
        _check_int("n", self.n, k + 2)
        for name in ("seed", "reference_seed"):  # an int, and one torch.manual_seed takes (ganzoo.ranges.SEED)
            SEED.check(name, _check_int(name, getattr(self, name), 0))
        _check_int("kid_subset_size", self.kid_subset_size, 2)
        _check_int("kid_subsets", self.kid_subsets, 1)
        if self.split is not None and not isinstance(self.split, str):
            raise ConfigError(f"split must be a split name or None, got {self.split!r}")

    @property
    def min_samples(self) -> int:
        """The fewest samples a set may have: precision/recall need ``pr_k`` neighbours and a spare."""
        return self.pr_k + 2

    @property
    def extractor_name(self) -> str | None:
        """The extractor as asked for: its name, or None when the dataset's default is used."""
        if self.extractor is None or isinstance(self.extractor, str):
            return self.extractor
        return str(getattr(self.extractor, "name", type(self.extractor).__name__))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, the extractor by name."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["extractor"] = self.extractor_name
        return values


def protocol_from(protocol: EvalProtocol | None, **given: Any) -> EvalProtocol:
    """``protocol`` (default: ``EvalProtocol()``) with the keyword arguments a caller gave (not None).

    A value given both ways must agree: a call that passes ``protocol=`` and a different
    ``n=`` is refused with both values named, instead of one silently winning.
    """
    chosen = {name: value for name, value in given.items() if value is not None}
    if protocol is None:
        return EvalProtocol(**chosen)
    if not isinstance(protocol, EvalProtocol):
        raise ConfigError(f"protocol must be an EvalProtocol, got {type(protocol).__name__}")
    for name, value in chosen.items():
        if getattr(protocol, name) != value:
            raise ConfigError(
                f"{name}={value!r} disagrees with protocol.{name}={getattr(protocol, name)!r}: pass it in one place"
            )
    return protocol


@dataclass
class EvalResult:
    """Metrics, and the protocol that produced them.

    ``metrics`` holds plain numbers: ``fid``, ``kid_mean``, ``kid_std``, ``precision``,
    ``recall``; with a classifier extractor also ``classes_covered`` (classes with at
    least half the uniform share), ``class_tv`` (total variation to uniform) and
    ``class_kl`` (KL to uniform, nats); for conditional models (and the real floor of a
    labelled dataset) ``conditional_accuracy``. ``protocol`` is the JSON record of how they
    were measured (:func:`protocol_record`), ``details`` holds per-class shares,
    ``timings`` wall-clock seconds per stage.
    """

    metrics: dict[str, float | int]
    protocol: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"metrics", "protocol", "details", "timings"}``."""
        return asdict(self)

    def protocol_text(self) -> str:
        """The protocol in two or three lines, for a table caption or a model card."""
        p = self.protocol
        features = (
            f"features: {p['extractor']} (weights sha256 {str(p['extractor_weights_sha256'])[:12]}), "
            f"{p['image_handling']}."
        )
        if "reference_stats" in p:
            lines = [
                f"{p['generated_count']} {p['generated']} vs {p['dataset']} reference statistics: "
                f"{p['real_selection']}; {features}",
                f"FID only (a statistics file holds no features for KID or precision/recall): float64 "
                f"mean/covariance; seed {p['seed']}.",
            ]
        else:
            lines = [
                f"{p['generated_count']} {p['generated']} vs {p['real_count']} real {p['dataset']} "
                f"'{p['reference_split']}' samples; {features}",
                f"FID: float64 mean/covariance; KID: unbiased MMD^2, kernel {p['kid']['kernel']}, "
                f"{p['kid']['subsets']} subsets of {p['kid']['subset_size']}"
                + (f" (std {p['kid']['std']})" if p["kid"].get("std") else "") + "; precision/recall: "
                f"k-NN manifolds, k={p['precision_recall']['k']}; seed {p['seed']}.",
            ]
        if p.get("extractor_note"):
            lines.append(f"Extractor choice: {p['extractor_note']}.")
        sampled = [f"truncation {p['truncation']:g} (latent values beyond it redrawn)"] if p.get("truncation") else []
        sampled += [f"weights: {p['weights']}"] if p.get("weights") else []
        if sampled:
            lines.append("Generated with " + "; ".join(sampled) + ".")
        return "\n".join(lines)


def protocol_record(
    protocol: EvalProtocol,
    *,
    dataset: str,
    extractor: Any,
    note: str,
    generated: str,
    generated_count: int,
    real: Any,
    reference_split: str,
    real_total: int,
    image_handling: str,
    conditional: bool,
    device: Any,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The JSON record of one evaluation: ``protocol`` resolved against the data and extractor it met.

    ``real`` is the reference :class:`~ganzoo.metrics.stats.FeatureSet`; ``extra`` holds
    the facts only one kind of evaluation has (the labels of a conditional model, the
    selection of the floor's real samples). ``"requested"`` is ``protocol.as_dict()``.
    """
    from .refstats import ReferenceStats

    stats_file = isinstance(real, ReferenceStats)
    if stats_file:
        count = real.made_with.get("count")
        selection = real.describe()
    else:
        count = len(real)
        selection = (
            f"seeded subset (seed {protocol.reference_seed}) of the {real_total} samples" if count < real_total
            else f"all {real_total} samples"
        )
    record = {
        "dataset": dataset,
        "reference_split": reference_split,
        "real_count": count,
        "real_selection": selection,
        "generated": generated,
        "generated_count": generated_count,
        "conditional": conditional,
        "extractor": getattr(extractor, "name", type(extractor).__name__),
        "extractor_weights_sha256": str(getattr(extractor, "weights_sha256", "unknown")),
        "extractor_note": note,
        "extractor_resize": getattr(extractor, "resize", None),
        "input_note": str(getattr(extractor, "input_note", "")),
        "feature_dim": real.dim if stats_file else int(real.features.shape[1]),
        "image_handling": image_handling,
        "fid": {"statistics": "float64 mean and unbiased covariance", "sqrt": "eigh of S1^1/2 S2 S1^1/2"},
        "class_coverage": "classes with share >= 1/(2 * num_classes); TV and KL to uniform",
        "seed": protocol.seed,
        "device": str(device),
        "stats_cache": str(real.path) if real.path is not None and not stats_file else None,
        "stats_cache_hit": False if stats_file else real.cache_hit,
        "ganzoo_version": __version__,
        "requested": protocol.as_dict(),
    }
    if stats_file:
        record["reference_stats"] = {"path": str(real.path), "sha256": real.sha256, "made_with": real.made_with}
    else:  # KID and precision/recall need the reference's features, which a statistics file does not hold
        record["kid"] = {
            "kernel": "(x.y/d + 1)^3",
            "estimator": "unbiased MMD^2",
            "subset_size": effective_subset_size(generated_count, len(real), protocol.kid_subset_size),
            "subsets": protocol.kid_subsets,
        }
        if not spread_is_defined(generated_count, len(real), protocol.kid_subset_size, protocol.kid_subsets):
            record["kid"]["std"] = ("not reported: every subset is the whole of both sets (n at most the subset "
                                    "size), so they do not spread; evaluate more samples for one")
        record["precision_recall"] = {"method": "Kynkaanniemi et al. 2019 k-NN manifolds", "k": protocol.pr_k}
    record.update(extra)
    return record
