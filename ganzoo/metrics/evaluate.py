"""``evaluate``: score any generator against a dataset split, and say exactly how.

FID numbers in papers are rarely comparable because the protocol is unstated: how many
samples, against which split, through which network and weights, resized how. Every
:class:`EvalResult` therefore carries its ``protocol`` next to its ``metrics``, and
:func:`evaluate_real` gives the floor (real data against real data under the same
protocol) that tells a reader what a good number looks like.

The generator is taken as a callable ``sampler(n, labels) -> images in [-1, 1]`` so the
same code scores zoo models, freshly trained ones, and anything else.
:func:`evaluate_model` wraps a ganzoo generator (latents drawn once from the seed)::

    g = ganzoo.load("dcgan-mnist")
    result = evaluate_model(g, dataset="mnist", data_dir="../shared/data")
    print(result.metrics["fid"], result.protocol_text())

    result = evaluate(my_sampler, dataset="mnist", n=10000)   # any callable
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from ganzoo._version import __version__
from ganzoo.errors import ConfigError

from .classes import class_coverage, conditional_accuracy
from .extractors import extract_batch, resolve_extractor
from .fid import feature_stats, fid_from_stats
from .kid import effective_subset_size, kid
from .precision_recall import precision_recall
from .stats import FeatureSet, real_features

__all__ = [
    "EvalResult",
    "Sampler",
    "balanced_labels",
    "evaluate",
    "evaluate_model",
    "evaluate_real",
    "model_sampler",
]

Sampler = Callable[[int, "torch.Tensor | None"], torch.Tensor]
"""``sampler(n, labels)``: ``n`` samples in ``[-1, 1]``; ``labels`` is None for unconditional models."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``, called as work advances (stages: "real", "generated")."""

REFERENCE_SUBSET_SEED = 0
"""A reference split larger than ``n`` is subsampled with this fixed seed, so every model
(whatever its evaluation seed) is compared with the same real samples and the cached
features are reused."""

KID_SUBSET_SIZE = 1000
KID_SUBSETS = 100
PR_K = 3


@dataclass
class EvalResult:
    """Metrics, and the protocol that produced them.

    ``metrics`` holds plain numbers: ``fid``, ``kid_mean``, ``kid_std``, ``precision``,
    ``recall``; with a classifier extractor also ``classes_covered`` (classes with at
    least half the uniform share), ``class_tv`` (total variation to uniform) and
    ``class_kl`` (KL to uniform, nats); for conditional models (and the real floor of a
    labelled dataset) ``conditional_accuracy``. ``details`` holds per-class shares,
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
        lines = [
            f"{p['generated_count']} {p['generated']} vs {p['real_count']} real {p['dataset']} "
            f"'{p['reference_split']}' samples; features: {p['extractor']} "
            f"(weights sha256 {str(p['extractor_weights_sha256'])[:12]}), {p['image_handling']}.",
            f"FID: float64 mean/covariance; KID: unbiased MMD^2, kernel {p['kid']['kernel']}, "
            f"{p['kid']['subsets']} subsets of {p['kid']['subset_size']}; precision/recall: "
            f"k-NN manifolds, k={p['precision_recall']['k']}; seed {p['seed']}.",
        ]
        if p.get("extractor_note"):
            lines.append(f"Extractor choice: {p['extractor_note']}.")
        return "\n".join(lines)


def balanced_labels(n: int, num_classes: int, seed: int = 0) -> torch.Tensor:
    """``n`` labels, each class ``n // num_classes`` or one more times, in seeded random order."""
    labels = torch.arange(n) % num_classes
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return labels[order]


def _resolve_dataset(dataset: Any) -> Any:
    if isinstance(dataset, str):
        from ganzoo.registry import get_dataset_spec

        return get_dataset_spec(dataset)
    if hasattr(dataset, "load") and hasattr(dataset, "name"):
        return dataset
    raise ConfigError(f"dataset must be a registered name or a DatasetSpec, got {dataset!r}")


def _dataset_and_extractor(
    dataset: Any, split: str | None, extractor: Any, device: Any, options: dict[str, Any] | None
) -> tuple[Any, str, Any]:
    """The dataset spec, the reference split (its default when None) and the resolved extractor."""
    spec = _resolve_dataset(dataset)
    point_data = spec.sample_shape is not None and len(spec.sample_shape) == 1
    resolved = resolve_extractor(extractor, dataset=spec.name, point_data=point_data, device=device, options=options)
    return spec, default_split(spec, split), resolved


def _subset(count: int, total: int, seed: int) -> torch.Tensor | None:
    """Sorted indices of ``count`` of ``total`` samples chosen with ``seed`` (None: take them all)."""
    if count >= total:
        return None
    chosen = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:count]
    return chosen.sort().values


def _select(total: int, count: int, seed: int, exclude_seed: int | None = None) -> torch.Tensor | None:
    """Indices of up to ``count`` samples; with ``exclude_seed``, none of those ``_subset`` picks with it.

    The exclusion gives a single-split dataset (an image folder) a floor made of two
    disjoint sets of real images instead of a set compared with itself.
    """
    if exclude_seed is None:
        return _subset(count, total, seed)
    excluded = _subset(count, total, exclude_seed)
    if excluded is None or total - len(excluded) < PR_K + 2:
        raise ConfigError(
            f"the split has {total} samples, too few for two disjoint sets of {count}; pass a smaller n"
        )
    keep = torch.ones(total, dtype=torch.bool)
    keep[excluded] = False
    rest = keep.nonzero()[:, 0]
    picked = _subset(count, len(rest), seed)
    return rest if picked is None else rest[picked]


def default_split(spec: Any, split: str | None) -> str:
    """``split``, or the dataset's ``test`` split, or (image folders) its first and only split."""
    if split is not None:
        return split
    return "test" if "test" in spec.splits else spec.splits[0]


def _load_split(spec: Any, data_dir: Any, split: str, image_size: int | None) -> Any:
    return spec.load(data_dir, split, image_size=image_size)


def _check_count(n: int) -> None:
    if n < PR_K + 2:
        raise ConfigError(f"--n {n} is too small: the metrics need at least {PR_K + 2} samples")


def _reference(
    spec: Any,
    extractor: Any,
    *,
    data_dir: Any,
    split: str,
    n: int,
    subset_seed: int,
    image_size: int | None,
    batch_size: int,
    device: Any,
    cache: bool,
    progress: Progress | None,
    stage: str,
    exclude_seed: int | None = None,
) -> tuple[FeatureSet, Any]:
    """Features of up to ``n`` samples of ``split`` (seeded subset when the split is larger)."""
    data = _load_split(spec, data_dir, split, image_size)
    if len(data) < PR_K + 2:
        raise ConfigError(f"dataset {spec.name!r} split {split!r} has only {len(data)} samples")
    chosen = _select(len(data), n, subset_seed, exclude_seed)
    samples = data.samples if chosen is None else data.samples[chosen]
    labels = None if data.labels is None else (data.labels if chosen is None else data.labels[chosen])
    total = len(samples)
    done = 0

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
        extractor=extractor,
        batch_size=batch_size,
        device=device,
        cache=cache,
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


def _scores(
    real: FeatureSet,
    fake: FeatureSet,
    extractor: Any,
    requested: torch.Tensor | None,
    *,
    seed: int,
    device: Any,
) -> tuple[dict[str, float | int], dict[str, Any]]:
    metrics: dict[str, float | int] = {"fid": fid_from_stats(fake.mu, fake.sigma, real.mu, real.sigma)}
    kid_mean, kid_std = kid(fake.features, real.features, subset_size=KID_SUBSET_SIZE, subsets=KID_SUBSETS,
                            seed=seed)
    metrics["kid_mean"], metrics["kid_std"] = kid_mean, kid_std
    pr_device = device if str(device).startswith("cuda") else "cpu"
    metrics["precision"], metrics["recall"] = precision_recall(
        real.features.to(pr_device), fake.features.to(pr_device), k=PR_K
    )
    details: dict[str, Any] = {}
    num_classes = getattr(extractor, "num_classes", None)
    if fake.predictions is not None and num_classes:
        coverage = class_coverage(fake.predictions, num_classes)
        metrics["classes_covered"] = coverage.covered
        metrics["class_tv"] = coverage.total_variation
        metrics["class_kl"] = coverage.kl_to_uniform
        details["class_shares"] = list(coverage.shares)
        if real.predictions is not None:
            details["real_class_shares"] = list(class_coverage(real.predictions, num_classes).shares)
        if requested is not None:
            metrics["conditional_accuracy"] = conditional_accuracy(fake.predictions, requested)
    return metrics, details


def _protocol(
    *,
    spec: Any,
    extractor: Any,
    note: str,
    generated: str,
    generated_count: int,
    real: FeatureSet,
    reference_split: str,
    real_total: int,
    seed: int,
    image_handling: str,
    conditional: bool,
    device: Any,
    extra: dict[str, Any],
) -> dict[str, Any]:
    subset = len(real) < real_total
    protocol = {
        "dataset": spec.name,
        "reference_split": reference_split,
        "real_count": len(real),
        "real_selection": (
            f"seeded subset (seed {REFERENCE_SUBSET_SEED}) of the {real_total} samples" if subset
            else f"all {real_total} samples"
        ),
        "generated": generated,
        "generated_count": generated_count,
        "conditional": conditional,
        "extractor": getattr(extractor, "name", type(extractor).__name__),
        "extractor_weights_sha256": str(getattr(extractor, "weights_sha256", "unknown")),
        "extractor_note": note,
        "feature_dim": int(real.features.shape[1]),
        "image_handling": image_handling,
        "fid": {"statistics": "float64 mean and unbiased covariance", "sqrt": "eigh of S1^1/2 S2 S1^1/2"},
        "kid": {
            "kernel": "(x.y/d + 1)^3",
            "estimator": "unbiased MMD^2",
            "subset_size": effective_subset_size(generated_count, len(real), KID_SUBSET_SIZE),
            "subsets": KID_SUBSETS,
        },
        "precision_recall": {"method": "Kynkaanniemi et al. 2019 k-NN manifolds", "k": PR_K},
        "class_coverage": "classes with share >= 1/(2 * num_classes); TV and KL to uniform",
        "seed": seed,
        "device": str(device),
        "stats_cache": str(real.path) if real.path is not None else None,
        "stats_cache_hit": real.cache_hit,
        "ganzoo_version": __version__,
    }
    protocol.update(extra)
    return protocol


def _image_handling(extractor: Any, shape: tuple[int, ...], clamp: bool) -> str:
    size = "x".join(str(s) for s in shape[1:]) if len(shape) == 3 else f"{shape[0]}-d points"
    channels = f"{shape[0]} channel(s) " if len(shape) == 3 else ""
    handled = getattr(extractor, "input_note", "as the extractor takes them")
    prefix = "generated values clamped to [-1, 1]; " if clamp else ""
    return f"{prefix}real uint8 mapped to [-1, 1] as x/127.5-1; {channels}{size} samples; extractor input: {handled}"


def evaluate(
    sampler: Sampler,
    *,
    dataset: Any,
    data_dir: Any = None,
    split: str | None = None,
    n: int = 10000,
    extractor: Any = None,
    extractor_options: dict[str, Any] | None = None,
    batch_size: int = 500,
    seed: int = 0,
    device: str | torch.device = "cpu",
    conditional: bool = False,
    num_classes: int | None = None,
    image_size: int | None = None,
    cache: bool = True,
    progress: Progress | None = None,
) -> EvalResult:
    """Score ``n`` samples from ``sampler`` against the ``split`` of ``dataset``.

    Parameters
    ----------
    sampler:
        ``sampler(count, labels) -> (count, C, H, W)`` tensor in ``[-1, 1]`` (``(count, D)`` for
        point data). ``labels`` is an int64 tensor ``(count,)`` when ``conditional`` else None.
        It is called in batches of ``batch_size`` under ``torch.manual_seed(seed)`` (the global
        RNG state is restored afterwards), so a sampler that draws its noise from torch's
        global generator gives the same samples for the same seed.
    dataset:
        A registered dataset name (``"mnist"``) or a ``DatasetSpec``.
    data_dir:
        Data root passed to the dataset loader (None: ``ganzoo.paths.data_dir()``).
    split:
        The reference split; None means ``"test"``, or the only split of datasets that
        have one (image folders: ``"train"``). When it holds more than ``n`` samples a
        subset chosen with the fixed seed ``REFERENCE_SUBSET_SEED`` is used.
    n:
        Number of generated samples (10k is the convention for FID/KID; fewer inflate FID).
    extractor:
        A registered extractor name, an extractor object, or None: the extractor
        registered for the dataset, else ``inception-v3`` if its weights are cached, else
        ``random-conv`` (see :func:`ganzoo.metrics.extractors.resolve_extractor`).
    extractor_options:
        Keyword arguments for a registered extractor's builder, those it accepts
        (``{"download": True}`` lets ``inception-v3`` fetch its weights).
    conditional, num_classes:
        For class-conditional models: labels are balanced over ``num_classes`` (default:
        the dataset's, else the extractor's) and ``conditional_accuracy`` is reported
        when the extractor is a classifier.
    image_size:
        Resolution to load datasets that have no fixed sample shape (image folders); by
        default the generator's output size, found by drawing one sample first.
    cache:
        Reuse (and store) the real split's features in the stats cache.
    progress:
        ``progress(stage, done, total)`` callback for a progress bar.

    Returns an :class:`EvalResult`; ``result.protocol_text()`` states the protocol.
    """
    _check_count(n)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    spec, split, resolved = _dataset_and_extractor(dataset, split, extractor, device, extractor_options)
    chosen = resolved.extractor
    timings["extractor"] = time.perf_counter() - started

    labels: torch.Tensor | None = None
    if conditional:
        num_classes = num_classes or spec.num_classes or getattr(chosen, "num_classes", None)
        if not num_classes:
            raise ConfigError(
                f"conditional evaluation needs the number of classes: dataset {spec.name!r} does not "
                "state it; pass num_classes"
            )
        labels = balanced_labels(n, int(num_classes), seed)

    with torch.random.fork_rng(devices=_cuda_devices(device)):
        torch.manual_seed(seed)
        if spec.sample_shape is None and image_size is None:
            probe = _draw(sampler, 1, labels[:1] if labels is not None else None, device)
            image_size = int(probe.shape[-1])
            torch.manual_seed(seed)  # the probe must not shift the evaluated samples

        tick = time.perf_counter()
        real, data = _reference(
            spec, chosen, data_dir=data_dir, split=split, n=n, subset_seed=REFERENCE_SUBSET_SEED,
            image_size=image_size, batch_size=batch_size, device=device, cache=cache, progress=progress,
            stage="real",
        )
        timings["real_features"] = time.perf_counter() - tick

        tick = time.perf_counter()
        feature_parts: list[torch.Tensor] = []
        prediction_parts: list[torch.Tensor] = []
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            batch_labels = labels[start : start + count] if labels is not None else None
            images = _draw(sampler, count, batch_labels, device)
            if tuple(images.shape[1:]) != tuple(data.sample_shape):
                raise ConfigError(
                    f"the generator makes samples of shape {tuple(images.shape[1:])} but dataset "
                    f"{spec.name!r} has {tuple(data.sample_shape)}; evaluate against the dataset it was "
                    "trained on (or pass image_size)"
                )
            features, predictions = extract_batch(chosen, images)
            feature_parts.append(features)
            if predictions is not None:
                prediction_parts.append(predictions)
            if progress is not None:
                progress("generated", start + count, n)
        timings["generated_features"] = time.perf_counter() - tick

    fake_features = torch.cat(feature_parts)
    fake = FeatureSet(
        fake_features,
        *feature_stats(fake_features),
        predictions=torch.cat(prediction_parts) if len(prediction_parts) == len(feature_parts) else None,
    )
    tick = time.perf_counter()
    metrics, details = _scores(real, fake, chosen, labels, seed=seed, device=device)
    timings["metrics"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - started
    protocol = _protocol(
        spec=spec, extractor=chosen, note=resolved.note, generated="generated", generated_count=n,
        real=real, reference_split=split, real_total=len(data), seed=seed,
        image_handling=_image_handling(chosen, tuple(data.sample_shape), clamp=True),
        conditional=conditional, device=device,
        extra={"labels": "balanced over classes, seeded order" if conditional else None,
               "num_classes": int(num_classes) if conditional else None},
    )
    return EvalResult(metrics=metrics, protocol=protocol, details=details, timings=timings)


def model_sampler(model: Any, *, n: int, seed: int = 0) -> Sampler:
    """A :data:`Sampler` over a ganzoo generator (``ganzoo.load(...)``, a trained ``GAN``).

    All ``n`` latent vectors are drawn up front with ``model.latents(n, seed=seed)`` (a
    private CPU generator), so the samples depend only on the seed, never on the batch
    size, the device or the global RNG; batches are decoded in order.
    """
    latents = model.latents(n, seed=seed)
    position = 0

    def sample(count: int, labels: torch.Tensor | None) -> torch.Tensor:
        nonlocal position
        if position + count > n:
            raise ConfigError(f"this sampler was made for {n} samples; {position + count} were asked for")
        batch = latents[position : position + count]
        position += count
        return model.decode(batch, labels)

    return sample


def evaluate_model(model: Any, *, dataset: Any, n: int = 10000, seed: int = 0, **options: Any) -> EvalResult:
    """:func:`evaluate` for a ganzoo generator: conditional models get balanced labels and accuracy.

    ``options`` are :func:`evaluate`'s other keyword arguments (``data_dir``, ``split``,
    ``extractor``, ``batch_size``, ``device``, ...).
    """
    num_classes = getattr(model, "num_classes", None)
    shape = tuple(getattr(model, "sample_shape", ()) or ())
    if len(shape) == 3 and options.get("image_size") is None:
        # a dataset of any image size (an image folder) is resized to what the model makes; knowing it
        # here spares evaluate() a probe sample, which would use up one of the sampler's n latents
        options["image_size"] = int(shape[-1])
    result = evaluate(
        model_sampler(model, n=n, seed=seed), dataset=dataset, n=n, seed=seed,
        conditional=num_classes is not None, num_classes=num_classes, **options,
    )
    result.protocol["latents"] = f"N(0, I), {n} vectors drawn with seed {seed} (model.latents)"
    result.protocol["model"] = str(getattr(model, "name", type(model).__name__))
    return result


def evaluate_real(
    dataset: Any,
    *,
    reference_split: str | None = None,
    split: str = "train",
    n: int = 10000,
    data_dir: Any = None,
    extractor: Any = None,
    extractor_options: dict[str, Any] | None = None,
    batch_size: int = 500,
    seed: int = 0,
    device: str | torch.device = "cpu",
    image_size: int | None = None,
    cache: bool = True,
    progress: Progress | None = None,
) -> EvalResult:
    """The floor: ``n`` real samples of ``split`` scored against ``reference_split`` like a generator.

    No generator can be expected to beat real data, so this is the line against which a
    model's numbers are read. ``reference_split`` None means the one :func:`evaluate`
    uses by default. The ``split`` samples are a subset chosen with ``seed``;
    when ``split`` is the reference split itself (datasets with a single split, such as
    image folders), they are drawn from the samples the reference set does not use, so
    the two sets are disjoint. When the data has labels, ``conditional_accuracy`` is the
    classifier's accuracy on them (the ceiling for a conditional model).
    """
    _check_count(n)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    spec, reference_split, resolved = _dataset_and_extractor(
        dataset, reference_split, extractor, device, extractor_options
    )
    chosen = resolved.extractor
    timings["extractor"] = time.perf_counter() - started
    if spec.sample_shape is None and image_size is None:
        raise ConfigError(f"dataset {spec.name!r} has no fixed image size; pass image_size")

    def stage(name: str, *, split_name: str, subset_seed: int, exclude_seed: int | None = None) -> Any:
        tick = time.perf_counter()
        result = _reference(
            spec, chosen, data_dir=data_dir, split=split_name, n=n, subset_seed=subset_seed,
            image_size=image_size, batch_size=batch_size, device=device, cache=cache, progress=progress,
            stage=name, exclude_seed=exclude_seed,
        )
        timings[f"{name}_features"] = time.perf_counter() - tick
        return result

    same_split = split == reference_split
    real, data = stage("real", split_name=reference_split, subset_seed=REFERENCE_SUBSET_SEED)
    sample, sample_data = stage(
        "generated", split_name=split, subset_seed=seed,
        exclude_seed=REFERENCE_SUBSET_SEED if same_split else None,
    )
    tick = time.perf_counter()
    metrics, details = _scores(real, sample, chosen, sample.labels, seed=seed, device=device)
    timings["metrics"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - started
    if same_split:
        selection = f"seeded subset (seed {seed}), disjoint from the reference set, of the {len(sample_data)}"
    elif len(sample) < len(sample_data):
        selection = f"seeded subset (seed {seed}) of the {len(sample_data)}"
    else:
        selection = f"all {len(sample_data)}"
    protocol = _protocol(
        spec=spec, extractor=chosen, note=resolved.note, generated=f"real '{split}'",
        generated_count=len(sample), real=real, reference_split=reference_split, real_total=len(data),
        seed=seed, image_handling=_image_handling(chosen, tuple(data.sample_shape), clamp=False),
        conditional=False, device=device,
        extra={"floor": True, "generated_selection": f"{selection} '{split}' samples",
               "generated_stats_cache_hit": sample.cache_hit},
    )
    return EvalResult(metrics=metrics, protocol=protocol, details=details, timings=timings)


def _cuda_devices(device: Any) -> list[int]:
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


def _draw(sampler: Sampler, count: int, labels: torch.Tensor | None, device: Any) -> torch.Tensor:
    """One batch from the sampler, checked and clamped to ``[-1, 1]``."""
    if labels is not None:
        labels = labels.to(device)
    images = sampler(count, labels)
    if not isinstance(images, torch.Tensor):
        raise ConfigError(f"the sampler must return a tensor, got {type(images).__name__}")
    if len(images) != count:
        raise ConfigError(f"the sampler was asked for {count} samples and returned {len(images)}")
    images = images.detach().float()
    if not torch.isfinite(images).all():
        raise ConfigError("the generator produced NaN or infinite values; its weights are unusable")
    return images.clamp_(-1.0, 1.0)
