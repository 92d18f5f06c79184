"""Where the second feature set of an evaluation comes from: a generator, or real samples (the floor).

:func:`~ganzoo.metrics.scoring.measure` scores any source against the reference split in
one way; a source only says what its samples are (:meth:`Source.features`), at which size
they are compared (:meth:`Source.image_size`) and what the record should add about them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from ganzoo.errors import ConfigError

from .extractors import extract_batch
from .fid import feature_stats
from .protocol import EvalProtocol
from .reference import Setting, real_feature_set
from .stats import FeatureSet

__all__ = ["GeneratedSource", "RealSource", "Sampler", "Source", "Sourced", "balanced_labels", "isolated_seed"]

Sampler = Callable[[int, "torch.Tensor | None"], torch.Tensor]
"""``sampler(n, labels)``: ``n`` samples in ``[-1, 1]``; ``labels`` is None for unconditional models."""


def balanced_labels(n: int, num_classes: int, seed: int = 0) -> torch.Tensor:
    """``n`` labels, each class ``n // num_classes`` or one more times, in seeded random order."""
    labels = torch.arange(n) % num_classes
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return labels[order]


@dataclass
class Sourced:
    """The second feature set, the labels its samples were asked to show (if any), and facts for the record."""

    features: FeatureSet
    requested: torch.Tensor | None
    generated: str
    """How the record names these samples ("generated", "real 'train'")."""
    conditional: bool
    clamped: bool
    """Whether values were clamped to [-1, 1] before extraction (stated in the record)."""
    record: dict[str, Any] = field(default_factory=dict)


class Source(Protocol):
    def prepare(self, setting: Setting, protocol: EvalProtocol) -> None:
        """Check the source against the resolved data and extractor, before any sample is drawn."""

    def image_size(self, setting: Setting, protocol: EvalProtocol, image_size: int | None) -> int | None:
        """The size a dataset without a fixed sample shape is loaded at (called under the evaluation's seed)."""

    def features(
        self, setting: Setting, protocol: EvalProtocol, reference: Any, image_size: int | None
    ) -> Sourced:
        """The samples' features; ``reference`` is the loaded reference split (its shape, its size), or None
        when a statistics file stands in for it."""


def _cuda_devices(device: Any) -> list[int]:
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


@contextlib.contextmanager
def isolated_seed(seed: int, device: Any) -> Iterator[None]:
    """Torch's global RNG (and the device's) starts from ``seed`` inside, and is as it was after."""
    with torch.random.fork_rng(devices=_cuda_devices(device)):
        torch.manual_seed(seed)
        yield


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


class GeneratedSource:
    """``protocol.n`` samples of a sampler, in batches, with balanced labels for a conditional model."""

    def __init__(self, sampler: Sampler, *, conditional: bool = False, num_classes: int | None = None):
        self.sampler = sampler
        self.conditional = conditional
        self.num_classes = num_classes
        self.labels: torch.Tensor | None = None

    def prepare(self, setting: Setting, protocol: EvalProtocol) -> None:
        """Choose the labels (before anything is drawn): balanced over the classes, in seeded order."""
        if not self.conditional:
            return
        classes = self.num_classes or setting.spec.num_classes or getattr(setting.extractor, "num_classes", None)
        if not classes:
            raise ConfigError(
                f"conditional evaluation needs the number of classes: dataset {setting.spec.name!r} does not "
                "state it; pass num_classes"
            )
        self.num_classes = int(classes)
        self.labels = balanced_labels(protocol.n, self.num_classes, protocol.seed)

    def image_size(self, setting: Setting, protocol: EvalProtocol, image_size: int | None) -> int | None:
        if setting.spec.sample_shape is not None or image_size is not None:
            return image_size
        probe = _draw(self.sampler, 1, self.labels[:1] if self.labels is not None else None, setting.device)
        torch.manual_seed(protocol.seed)  # the probe must not shift the evaluated samples
        return int(probe.shape[-1])

    def features(self, setting: Setting, protocol: EvalProtocol, reference: Any, image_size: int | None) -> Sourced:
        n, batch_size, labels = protocol.n, setting.batch_size, self.labels
        feature_parts: list[torch.Tensor] = []
        prediction_parts: list[torch.Tensor] = []
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            batch_labels = labels[start : start + count] if labels is not None else None
            images = _draw(self.sampler, count, batch_labels, setting.device)
            if reference is not None and tuple(images.shape[1:]) != tuple(reference.sample_shape):
                raise ConfigError(
                    f"the generator makes samples of shape {tuple(images.shape[1:])} but dataset "
                    f"{setting.spec.name!r} has {tuple(reference.sample_shape)}; evaluate against the dataset it "
                    "was trained on (or pass image_size)"
                )
            features, predictions = extract_batch(setting.extractor, images)
            feature_parts.append(features)
            if predictions is not None:
                prediction_parts.append(predictions)
            if setting.progress is not None:
                setting.progress("generated", start + count, n)
        fake_features = torch.cat(feature_parts)
        fake = FeatureSet(
            fake_features,
            *feature_stats(fake_features),
            predictions=torch.cat(prediction_parts) if len(prediction_parts) == len(feature_parts) else None,
        )
        return Sourced(
            features=fake, requested=labels, generated="generated", conditional=self.conditional, clamped=True,
            record={
                "labels": "balanced over classes, seeded order" if self.conditional else None,
                "num_classes": self.num_classes if self.conditional else None,
            },
        )


class RealSource:
    """Up to ``protocol.n`` real samples of ``split``: the floor a generator is read against.

    They are a subset chosen with ``protocol.seed``; when ``split`` is the reference split
    itself, they come from the samples the reference set does not use. Their true labels
    stand in for requested ones, so a classifier's accuracy on them is the ceiling of a
    conditional model's ``conditional_accuracy``.
    """

    def __init__(self, split: str = "train"):
        self.split = split

    def prepare(self, setting: Setting, protocol: EvalProtocol) -> None:
        return None

    def image_size(self, setting: Setting, protocol: EvalProtocol, image_size: int | None) -> int | None:
        if setting.spec.sample_shape is None and image_size is None:
            raise ConfigError(f"dataset {setting.spec.name!r} has no fixed image size; pass image_size")
        return image_size

    def features(self, setting: Setting, protocol: EvalProtocol, reference: Any, image_size: int | None) -> Sourced:
        same_split = self.split == setting.split and setting.reference_stats is None
        sample, data = real_feature_set(
            setting, split=self.split, n=protocol.n, subset_seed=protocol.seed, image_size=image_size,
            stage="generated", min_samples=protocol.min_samples,
            exclude_seed=protocol.reference_seed if same_split else None,
        )
        seed = protocol.seed
        if same_split:
            selection = f"seeded subset (seed {seed}), disjoint from the reference set, of the {len(data)}"
        elif len(sample) < len(data):
            selection = f"seeded subset (seed {seed}) of the {len(data)}"
        else:
            selection = f"all {len(data)}"
        return Sourced(
            features=sample, requested=sample.labels, generated=f"real '{self.split}'", conditional=False,
            clamped=False,
            record={"floor": True, "generated_selection": f"{selection} '{self.split}' samples",
                    "generated_stats_cache_hit": sample.cache_hit},
        )
