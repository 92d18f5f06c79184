"""Contract checks of feature extractors: what ganzoo's metrics rely on (ganzoo/metrics/extractors.py).

An extractor built from its ``ExtractorSpec`` (with ``device="cpu"``) must carry its
``name`` (the spec's) and a ``weights_sha256`` (both go into the evaluation protocol and
the real-statistics cache key), an ``input_note``, and ``features(x)`` or ``extract(x)``;
a classifier (``classifier=True``) also ``num_classes`` and predictions. For every input
it declares (the sample shapes of the registered datasets it serves, points included;
images of several sizes when it names none) it must give finite float ``(N, D)`` features, one ``D`` for all inputs
(``feature_dim`` when it declares one), the same features for the same images whatever
the batch, under ``torch.inference_mode``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import GanzooError, WeightsError
from ..registry.catalog import get_registry
from ..registry.records import ExtractorSpec
from .core import SYNTHETIC_IMAGE_SIZE, fail

__all__ = ["ANY_IMAGES", "EXTRACTOR_ASPECTS", "check_extractor", "check_extractor_aspect", "extractor_inputs"]

ANY_IMAGES: tuple[tuple[int, ...], ...] = ((1, 28, 28), (3, SYNTHETIC_IMAGE_SIZE, SYNTHETIC_IMAGE_SIZE), (3, 64, 48))
"""Inputs checked for an extractor that serves any image data: grey and colour, small, large, not square."""

BATCH = 5


def extractor_inputs(spec: ExtractorSpec) -> list[tuple[int, ...]]:
    """The sample shapes the extractor must accept: those of the datasets it serves (images or points)."""
    if not spec.datasets:
        return list(ANY_IMAGES)
    import fnmatch

    registry = get_registry()
    shapes: list[tuple[int, ...]] = []
    for name in registry.datasets.names():
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in spec.datasets):
            continue
        data = registry.datasets.records[name]
        if data.sample_shape is not None:
            candidates = [tuple(data.sample_shape)]
        else:  # resized on load: any size, of its channels
            channels = data.channels or 3
            candidates = [(channels, SYNTHETIC_IMAGE_SIZE, SYNTHETIC_IMAGE_SIZE), (channels, 64, 64)]
        shapes += [shape for shape in candidates if shape not in shapes]
    if not shapes:
        raise fail("feature extractor", spec, f"no registered dataset matches its datasets {spec.datasets}")
    return shapes


def _build(spec: ExtractorSpec, options: Mapping[str, Any] | None) -> Any:
    try:
        extractor = spec.build(**{**(options or {}), "device": "cpu"})
    except WeightsError as error:
        import pytest

        pytest.skip(f"plugin {spec.plugin!r}, feature extractor {spec.name!r}: its weights are not here ({error})")
    except GanzooError as error:
        raise fail("feature extractor", spec, f"does not build: {error}") from error
    except Exception as error:
        raise fail("feature extractor", spec, f"does not build with device='cpu': {error!r}") from error
    return extractor


def _images(shape: tuple[int, ...], count: int = BATCH, seed: int = 0) -> Any:
    import torch

    generator = torch.Generator().manual_seed(seed)
    return torch.rand((count, *shape), generator=generator) * 2 - 1


def _extractor_build(spec: ExtractorSpec, options: Mapping[str, Any] | None = None) -> None:
    extractor = _build(spec, options)
    if getattr(extractor, "name", None) != spec.name:
        raise fail("feature extractor", spec, f"the built extractor's name is {getattr(extractor, 'name', None)!r}; "
                   "it must be the registered name (it goes into the evaluation protocol)")
    sha = getattr(extractor, "weights_sha256", None)
    if not isinstance(sha, str) or not sha:
        raise fail("feature extractor", spec, "weights_sha256 must be a non-empty string: it keys the real-data "
                   "statistics cache, so changed weights never reuse old statistics")
    if not isinstance(getattr(extractor, "input_note", None), str):
        raise fail("feature extractor", spec, "input_note must be a string saying how it treats image sizes")
    if not callable(getattr(extractor, "extract", None)) and not callable(getattr(extractor, "features", None)):
        raise fail("feature extractor", spec, "it needs features(x) -> (N, D) or extract(x) -> (features, logits)")
    if spec.classifier:
        classes = getattr(extractor, "num_classes", None)
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
            raise fail("feature extractor", spec, f"classifier=True but num_classes is {classes!r}, not an int >= 2")


def _extract(spec: ExtractorSpec, extractor: Any, x: Any, where: str) -> tuple[Any, Any]:
    from ..metrics.extractors import extract_batch

    try:
        return extract_batch(extractor, x)
    except GanzooError as error:
        raise fail("feature extractor", spec, f"{where}: {error}") from error
    except Exception as error:
        raise fail("feature extractor", spec, f"{where}: raised {error!r}") from error


def _extractor_features(spec: ExtractorSpec, options: Mapping[str, Any] | None = None) -> None:
    import torch

    extractor = _build(spec, options)
    declared = getattr(extractor, "feature_dim", None)
    dims: dict[tuple[int, ...], int] = {}
    grad_mode = torch.is_grad_enabled()
    for shape in extractor_inputs(spec):
        where = f"on samples of shape (N, {', '.join(map(str, shape))})"
        x = _images(shape)
        features, predictions = _extract(spec, extractor, x, where)
        if features.shape[0] != BATCH or features.ndim != 2:
            raise fail("feature extractor", spec, f"{where}: features have shape {tuple(features.shape)}, "
                       f"expected ({BATCH}, D)")
        if not features.is_floating_point() or not torch.isfinite(features).all():
            raise fail("feature extractor", spec, f"{where}: features must be finite floats")
        dims[shape] = features.shape[1]
        if spec.classifier:
            classes = extractor.num_classes
            if predictions is None:
                raise fail("feature extractor", spec, f"{where}: classifier=True but it gives no predictions "
                           "(return logits from extract(x), or define predict(x))")
            if tuple(predictions.shape) != (BATCH,) or predictions.min() < 0 or predictions.max() >= classes:
                raise fail("feature extractor", spec, f"{where}: predictions must be (N,) labels in [0, {classes})")
    if len(set(dims.values())) > 1:
        raise fail("feature extractor", spec, f"feature sizes differ by input: {dims}; one feature space for all")
    if declared is not None and set(dims.values()) != {declared}:
        raise fail("feature extractor", spec, f"declares feature_dim={declared} but gives {sorted(set(dims.values()))}")
    if torch.is_grad_enabled() != grad_mode:
        raise fail("feature extractor", spec, "extracting features changed torch's global grad mode")


def _extractor_deterministic(spec: ExtractorSpec, options: Mapping[str, Any] | None = None) -> None:
    """Same images, same features: twice, and alone or in a larger batch (eval mode: no dropout, no batch stats)."""
    import torch

    extractor = _build(spec, options)
    shape = extractor_inputs(spec)[0]
    x = _images(shape, BATCH, seed=1)
    first, _ = _extract(spec, extractor, x, "the first pass")
    again, _ = _extract(spec, extractor, x, "the second pass")
    if not torch.equal(first, again):
        raise fail("feature extractor", spec, "gives different features for the same images on a second call: "
                   "put its networks in eval() (dropout) and draw no random numbers")
    alone, _ = _extract(spec, extractor, x[:2], "a batch of two")
    if not torch.allclose(alone, first[:2], rtol=1e-4, atol=1e-5):
        raise fail("feature extractor", spec, "an image's features depend on the other images in its batch "
                   "(BatchNorm in training mode?): metrics would change with the batch size")


EXTRACTOR_ASPECTS: dict[str, Callable[..., None]] = {
    "build": _extractor_build,
    "features": _extractor_features,
    "deterministic": _extractor_deterministic,
}


def check_extractor_aspect(spec: ExtractorSpec, aspect: str, options: Mapping[str, Any] | None = None) -> None:
    EXTRACTOR_ASPECTS[aspect](spec, options)


def check_extractor(name: str, **options: Any) -> None:
    """Run every check on the registered feature extractor ``name``; ``options`` go to its builder."""
    spec = get_registry().extractors.get(name)
    for aspect in EXTRACTOR_ASPECTS:
        check_extractor_aspect(spec, aspect, options)
