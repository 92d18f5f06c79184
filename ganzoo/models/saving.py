"""``ganzoo.save``: a created or loaded model written as an export folder that ``ganzoo.load`` reads."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..registry.records import ModelSpec
from .sampling import GAN, PretrainedGenerator, Sampler

__all__ = ["save"]


def _untrained_card(model: Sampler, spec: ModelSpec) -> str:
    from ..cards.card import dump_front_matter

    front = {"library_name": "ganzoo", "tags": ["ganzoo", "gan", spec.name], "ganzoo": {"model": spec.name}}
    return (
        f"{dump_front_matter(front)}\n# {spec.name} (not trained)\n\n{spec.summary}\n\n"
        "These weights were saved by `ganzoo.save` without training: they are the initial values "
        f"(`ganzoo.create({spec.name!r})`), for tests and as a starting point, not for producing samples.\n"
    )


def save(
    model: Sampler,
    folder: str | os.PathLike[str],
    *,
    card: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
    samples: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` as an export folder that ``ganzoo.load(Path(folder))`` reads back.

    A ``GAN`` (from ``create``) is written with both networks, as ``ganzoo train`` writes
    its export; a ``PretrainedGenerator`` (from ``load``) with its generator only, plus the
    same ``config.json``. ``card`` replaces the README.md (default: the loaded model's own
    card, or a note that the weights are untrained); ``samples`` writes ``samples.png``,
    a grid of 64 samples drawn with seed 0. A folder that already holds an export is
    replaced only with ``overwrite=True``.
    """
    from ..cards import folder as export
    from ..io.files import check_output_folder, make_folder, write_text
    from ..io.imaging import save_samples
    from ..registry.catalog import reference_name

    if not isinstance(model, Sampler):
        raise ConfigError(
            f"save() takes what ganzoo.create or ganzoo.load returned, not a {type(model).__name__}"
        )
    if model.spec is None:
        raise ConfigError("save() needs a model from the registry: this generator has no ModelSpec")
    spec = model.spec
    target = check_output_folder(folder, what="save()")
    if not overwrite and any((target / name).exists() for name in (export.CONFIG_NAME, export.WEIGHTS_NAME)):
        raise ConfigError(f"{target} already holds an export; choose another folder or pass overwrite=True")
    make_folder(target, what="save()")
    text = card or getattr(model, "card", None) or _untrained_card(model, spec)
    samples_png = None
    if samples:
        count = 64 if model.num_classes is None else 10 * model.num_classes
        samples_png = save_samples(
            model.sample(count, seed=0), target / export.SAMPLES_NAME, nrow=model.num_classes or 8
        )
    if isinstance(model, GAN):
        return export.write_export(
            target,
            spec=spec,
            config=model.config,
            generator=model.generator,
            discriminator=model.discriminator,
            training=training or {},
            metrics=metrics or {},
            card=text,
            samples_png=samples_png,
            dataset=model.dataset or "",
            loss=(training or {}).get("loss", ""),
        )
    recorded = dict(model.metadata) if isinstance(model, PretrainedGenerator) else {}
    weights = model.weights if isinstance(model, PretrainedGenerator) else None
    document = export.export_config(
        model=reference_name(spec),  # PLUGIN:NAME when another plugin's model holds the bare name
        config=model.config,
        dataset=weights.dataset if weights is not None else recorded.get("dataset", ""),
        loss=recorded.get("loss", ""),
        latent_dim=model.latent_dim,
        num_classes=model.num_classes,
        sample_shape=model.sample_shape,
        training=training or recorded.get("training") or {},
        metrics=metrics or (weights.metrics if weights is not None else {}),
        generator_only=True,
    )
    config_text = export.config_text(document)  # a number JSON cannot hold is refused before anything is written
    export.write_generator_weights(
        target / export.WEIGHTS_NAME, model.generator, model=document["model"], config=model.config
    )
    write_text(target / export.CONFIG_NAME, config_text)
    write_text(target / export.CARD_NAME, text)
    return target
