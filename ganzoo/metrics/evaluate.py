"""``evaluate``: score any generator against a dataset split, and say exactly how.

FID numbers in papers are rarely comparable because the protocol is unstated: how many
samples, against which split, through which network and weights, resized how. Every
:class:`EvalResult` therefore carries its ``protocol`` next to its ``metrics``, and
:func:`evaluate_real` gives the floor (real data against real data under the same
protocol) that tells a reader what a good number looks like. Both go through one scoring
path (:func:`ganzoo.metrics.scoring.measure`) and differ only in where the second feature
set comes from: a sampler, or a split of real data.

The generator is taken as a callable ``sampler(n, labels) -> images in [-1, 1]`` so the
same code scores zoo models, freshly trained ones, and anything else.
:func:`evaluate_model` wraps a ganzoo generator (latents drawn once from the seed)::

    g = ganzoo.load("dcgan-mnist")
    result = evaluate_model(g, dataset="mnist", data_dir="../shared/data")
    print(result.metrics["fid"], result.protocol_text())

    result = evaluate(my_sampler, dataset="mnist", n=10000)   # any callable
    same = EvalProtocol(n=10000, seed=0)                        # or the protocol as one value
    result = evaluate(my_sampler, dataset="mnist", protocol=same)
"""

from __future__ import annotations

from typing import Any

import torch

from ganzoo.errors import ConfigError

from .protocol import EvalProtocol, EvalResult, protocol_from
from .reference import Progress
from .scoring import measure
from .sources import GeneratedSource, RealSource, Sampler, balanced_labels

__all__ = [
    "EvalProtocol",
    "EvalResult",
    "Sampler",
    "balanced_labels",
    "evaluate",
    "evaluate_model",
    "evaluate_real",
    "model_sampler",
]


def evaluate(
    sampler: Sampler,
    *,
    dataset: Any,
    protocol: EvalProtocol | None = None,
    data_dir: Any = None,
    split: str | None = None,
    n: int | None = None,
    extractor: Any = None,
    extractor_options: dict[str, Any] | None = None,
    batch_size: int = 500,
    seed: int | None = None,
    device: str | torch.device = "cpu",
    conditional: bool = False,
    num_classes: int | None = None,
    image_size: int | None = None,
    cache: bool = True,
    progress: Progress | None = None,
    reference_stats: Any = None,
    save_stats: Any = None,
) -> EvalResult:
    """Score ``protocol.n`` samples from ``sampler`` against the reference split of ``dataset``.

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
    protocol:
        An :class:`EvalProtocol`: every choice that changes the numbers. ``split``, ``n``,
        ``extractor`` and ``seed`` may be given instead (or as well, when they agree);
        unset, they are ``EvalProtocol``'s defaults.
    data_dir:
        Data root passed to the dataset loader (None: ``ganzoo.io.paths.data_dir()``).
    split:
        The reference split; None means ``"test"``, or the only split of datasets that
        have one (image folders: ``"train"``). When it holds more than ``n`` samples a
        subset chosen with the fixed seed ``protocol.reference_seed`` is used.
    n:
        Number of generated samples (default 10,000, the convention for FID/KID; fewer inflate FID).
    extractor:
        A registered extractor name, an extractor object, or None: the extractor
        registered for the dataset, else ``inception-v3`` if its weights are cached, else
        ``random-conv`` (see :func:`ganzoo.metrics.extractors.resolve_extractor`).
    extractor_options:
        Keyword arguments for a registered extractor's builder, those it accepts
        (``{"download": True}`` lets ``inception-v3`` fetch its weights).
    seed:
        Seed of the sampler's global RNG, the labels and KID's subsets (default 0).
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
    reference_stats:
        An ``.npz`` file of reference statistics (pytorch-fid's ``mu`` and ``sigma``) to score
        against instead of the reference split: only FID is measured, and the file must come
        from the same extractor and preprocessing (see :mod:`ganzoo.metrics.refstats`).
    save_stats:
        Write the reference split's mean and covariance to this ``.npz`` file (pytorch-fid's format).

    Returns an :class:`EvalResult`; ``result.protocol_text()`` states the protocol.
    """
    chosen = protocol_from(protocol, n=n, split=split, extractor=extractor, seed=seed)
    return measure(
        GeneratedSource(sampler, conditional=conditional, num_classes=num_classes), dataset, chosen,
        data_dir=data_dir, extractor_options=extractor_options, batch_size=batch_size, device=device,
        image_size=image_size, cache=cache, progress=progress, reference_stats=reference_stats,
        save_stats=save_stats,
    )


def evaluate_real(
    dataset: Any,
    *,
    protocol: EvalProtocol | None = None,
    reference_split: str | None = None,
    split: str = "train",
    n: int | None = None,
    data_dir: Any = None,
    extractor: Any = None,
    extractor_options: dict[str, Any] | None = None,
    batch_size: int = 500,
    seed: int | None = None,
    device: str | torch.device = "cpu",
    image_size: int | None = None,
    cache: bool = True,
    progress: Progress | None = None,
    reference_stats: Any = None,
    save_stats: Any = None,
) -> EvalResult:
    """The floor: ``n`` real samples of ``split`` scored against ``reference_split`` like a generator.

    No generator can be expected to beat real data, so this is the line against which a
    model's numbers are read; pass the model's :class:`EvalProtocol` to measure it the same
    way. ``reference_split`` is ``protocol.split`` (None means the one :func:`evaluate` uses
    by default). The ``split`` samples are a subset chosen with the protocol's seed;
    when ``split`` is the reference split itself (datasets with a single split, such as
    image folders), they are drawn from the samples the reference set does not use, so
    the two sets are disjoint. When the data has labels, ``conditional_accuracy`` is the
    classifier's accuracy on them (the ceiling for a conditional model). ``reference_stats`` and
    ``save_stats`` are :func:`evaluate`'s: real data scored against published statistics shows
    whether the extractor and its preprocessing reproduce them.
    """
    chosen = protocol_from(protocol, n=n, split=reference_split, extractor=extractor, seed=seed)
    return measure(
        RealSource(split), dataset, chosen,
        data_dir=data_dir, extractor_options=extractor_options, batch_size=batch_size, device=device,
        image_size=image_size, cache=cache, progress=progress, reference_stats=reference_stats,
        save_stats=save_stats,
    )


def model_sampler(model: Any, *, n: int, seed: int = 0, truncation: float | None = None) -> Sampler:
    """A :data:`Sampler` over a ganzoo generator (``ganzoo.load(...)``, a trained ``GAN``).

    All ``n`` latent vectors are drawn up front with ``model.latents(n, seed=seed)`` (a
    private CPU generator), so the samples depend only on the seed, never on the batch
    size, the device or the global RNG; batches are decoded in order. ``truncation`` redraws
    every latent value beyond it (BigGAN's truncation trick, ``Sampler.latents``).
    """
    # a model without truncation (one of your own) is asked only for what it has
    latents = model.latents(n, seed=seed) if truncation is None else model.latents(n, seed=seed, truncation=truncation)
    position = 0

    def sample(count: int, labels: torch.Tensor | None) -> torch.Tensor:
        nonlocal position
        if position + count > n:
            raise ConfigError(f"this sampler was made for {n} samples; {position + count} were asked for")
        batch = latents[position : position + count]
        position += count
        return model.decode(batch, labels)

    return sample


def evaluate_model(
    model: Any,
    *,
    dataset: Any,
    protocol: EvalProtocol | None = None,
    n: int | None = None,
    seed: int | None = None,
    truncation: float | None = None,
    **options: Any,
) -> EvalResult:
    """:func:`evaluate` for a ganzoo generator: conditional models get balanced labels and accuracy.

    ``truncation`` scores truncated latents (fidelity against variety; see ``Sampler.latents``).
    ``options`` are :func:`evaluate`'s other keyword arguments (``data_dir``, ``split``,
    ``extractor``, ``batch_size``, ``device``, ...).
    """
    chosen = protocol_from(
        protocol, n=n, seed=seed, split=options.pop("split", None), extractor=options.pop("extractor", None)
    )
    num_classes = getattr(model, "num_classes", None)
    shape = tuple(getattr(model, "sample_shape", ()) or ())
    if len(shape) == 3 and options.get("image_size") is None:
        # a dataset of any image size (an image folder) is resized to what the model makes; knowing it
        # here spares evaluate() a probe sample, which would use up one of the sampler's n latents
        options["image_size"] = int(shape[-1])
    elif len(shape) == 3 and options["image_size"] != shape[-1]:  # said before a folder is decoded at that size
        raise ConfigError(
            f"image size {options['image_size']} (--image-size) is not the {shape[-2]}x{shape[-1]} of the samples "
            f"{getattr(model, 'name', 'the model')} makes, which are compared as they are: leave it out"
        )
    result = evaluate(
        model_sampler(model, n=chosen.n, seed=chosen.seed, truncation=truncation), dataset=dataset, protocol=chosen,
        conditional=num_classes is not None, num_classes=num_classes, **options,
    )
    result.protocol["latents"] = f"N(0, I), {chosen.n} vectors drawn with seed {chosen.seed} (model.latents)" + (
        f", every value beyond +-{truncation:g} redrawn (truncation)" if truncation is not None else ""
    )
    result.protocol["truncation"] = truncation
    if getattr(model, "ema", False):
        result.protocol["weights"] = "the generator's moving average (EMA)"
    result.protocol["model"] = str(getattr(model, "name", type(model).__name__))
    return result
