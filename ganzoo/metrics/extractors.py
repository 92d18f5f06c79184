"""What ganzoo's metrics need from a feature extractor, and how one is chosen.

An extractor is any object with

- ``name: str`` and ``weights_sha256: str`` (both recorded in the evaluation protocol
  and in the real-statistics cache key, so changed weights never reuse old statistics);
- ``features(x) -> (N, D)`` for images ``x`` in ``[-1, 1]``;
- optionally ``extract(x) -> (features, logits or None)`` (one forward pass for both),
  ``predict(x) -> (N,)`` and ``num_classes`` when it is a classifier (class coverage,
  conditional accuracy), and ``input_note: str`` saying how it treats image sizes.

Registered extractors (``ganzoo list --extractors``) are built from their
``ExtractorSpec`` with ``device=...``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ganzoo.errors import ConfigError, WeightsError

__all__ = [
    "IdentityExtractor",
    "ResolvedExtractor",
    "auto_extractor_name",
    "extract_batch",
    "resolve_extractor",
]


INCEPTIONS = ("fid-inception", "inception-v3")
"""The Inceptions an evaluation without a named extractor tries, best first, before random features."""


class IdentityExtractor:
    """Points are their own features: 2-D toy data needs no network."""

    name = "identity"
    weights_sha256 = "none"
    input_note = "samples used as features as they are (point data)"

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).float()

    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.features(x), None


@dataclass
class ResolvedExtractor:
    extractor: Any
    note: str = ""
    """Why this extractor was chosen when the user did not name one."""


def extract_batch(extractor: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Features ``(N, D)`` (float32, CPU) and predicted labels ``(N,)`` or None for one batch."""
    with torch.inference_mode():
        if hasattr(extractor, "extract"):
            features, logits = extractor.extract(x)
            predictions = logits.argmax(1) if logits is not None else None
        else:
            features = extractor.features(x)
            predictions = extractor.predict(x) if hasattr(extractor, "predict") else None
    if features.ndim != 2 or len(features) != len(x):
        raise ConfigError(
            f"extractor {getattr(extractor, 'name', extractor)!r} returned features of shape "
            f"{tuple(features.shape)} for {len(x)} inputs; it must return (N, D)"
        )
    features = features.detach().to("cpu", torch.float32)
    if predictions is not None:
        predictions = predictions.detach().to("cpu", torch.int64)
    return features, predictions


def _matches(patterns: tuple[str, ...], dataset: str) -> bool:
    return any(fnmatch.fnmatchcase(dataset, pattern) for pattern in patterns)


def auto_extractor_name(dataset: str, registry: Any = None) -> str | None:
    """The registered extractor made for ``dataset`` (its ``datasets`` patterns match), if any."""
    from ganzoo.registry.catalog import get_registry

    registry = registry or get_registry()
    for name in registry.extractors.names():
        spec = registry.extractors.get(name)
        if spec.datasets and _matches(spec.datasets, dataset):
            return name
    return None


def resolve_extractor(
    extractor: Any,
    *,
    dataset: str,
    point_data: bool,
    device: str | torch.device = "cpu",
    options: dict[str, Any] | None = None,
    build: Callable[..., Any] | None = None,
) -> ResolvedExtractor:
    """An extractor object from an object, a registered name, or None (choose by dataset).

    Choosing: point data is its own feature space; then an extractor registered for the
    dataset (``mnist-classifier`` for ``mnist``); then ``fid-inception`` (the FID Inception of
    published numbers) when its weights are in the torch hub cache, else ``inception-v3``
    (torchvision's) when its are; then ``random-conv``, whose random-feature distances are
    labelled as such in the protocol. Each step passed over is named in the note. ``options``
    go to the registered builder (those it accepts), e.g. ``{"download": True}``, which lets
    the first Inception fetch its weights. A name the caller gives is built or fails: never
    another extractor in its place.
    """
    options = dict(options or {})

    def build_named(name: str) -> Any:
        return (build or _build_registered)(name, device, options)

    if extractor is not None and not isinstance(extractor, str):
        if not hasattr(extractor, "features") and not hasattr(extractor, "extract"):
            raise ConfigError(f"{extractor!r} is not a feature extractor: it needs a features(x) method")
        return ResolvedExtractor(extractor)
    if isinstance(extractor, str):
        if extractor == IdentityExtractor.name:
            return ResolvedExtractor(IdentityExtractor())
        return ResolvedExtractor(build_named(extractor))
    if point_data:
        return ResolvedExtractor(IdentityExtractor(), "point data: the samples are the features")
    name = auto_extractor_name(dataset)
    if name is not None:
        return ResolvedExtractor(build_named(name), f"{name} is registered for dataset {dataset!r}")
    missing: list[str] = []
    for candidate in INCEPTIONS:
        try:
            extractor = build_named(candidate)
        except WeightsError as error:
            missing.append(f"{candidate} unavailable ({error})")
            continue
        return ResolvedExtractor(extractor, "; ".join(["no extractor is registered for this dataset", *missing]))
    note = "; ".join(missing) + "; using random-conv: random-feature distances, not comparable with Inception FID"
    return ResolvedExtractor(build_named("random-conv"), note)


def _build_registered(name: str, device: Any, options: dict[str, Any]) -> Any:
    from ganzoo.registry.catalog import get_extractor_spec

    return get_extractor_spec(name).build(**{**options, "device": str(device)})
