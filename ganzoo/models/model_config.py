"""A model's constructor configuration, assembled in one place for ``create``, ``load`` and the trainer.

A generator is built from what several parties say about it: the model's defaults
(``ModelSpec.config``), the caller's arguments (``--option``, ``create(**options)``), a
weights file's own record of the configuration it was trained with, and the registry's
record of published weights (``WeightsSpec.config``). :func:`assemble_config` is the only
place that combines them, so loading a file and creating a fresh model cannot drift apart:

1. the defaults;
2. the explicit sources (arguments, file, record), which must agree on every key they share:
   a disagreement is a :class:`~ganzoo.errors.ConfigConflictError` naming the key and both
   values (torchvision's ``_ovewrite_named_param``), never a silent "last one wins";
3. the presets chosen by the resulting values (``"image_size=128": {"latent_dim": 200}``),
   for keys that no explicit source set;
4. the facts of the data (sample shape, channels, classes) for keys the configuration has;
   a fact that contradicts an explicit source is a conflict too.

The result is a :class:`ModelConfig`: a dict that remembers the networks it is for, so that
:func:`ganzoo.registry.builders.call_with_accepted` hands each network the keys it accepts and refuses
a key that neither accepts (a typo), wherever the configuration travels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import ConfigConflictError
from ..registry.builders import Builder
from ..registry.records import ModelSpec

__all__ = ["ModelConfig", "assemble_config", "plain_tuples"]

Source = tuple[str, Mapping[str, Any]]
"""``(what it is, its values)``, e.g. ``("the file's metadata", {...})``: the label appears in conflicts."""


class ModelConfig(dict):  # type: ignore[type-arg]
    """A model's constructor configuration, which knows the networks that share it.

    Generator and discriminator take one configuration and each accepts part of it; a key
    is a mistake only when none of ``networks`` accepts it (``call_with_accepted`` checks).
    """

    def __init__(self, values: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), *, model: str = "",
                 networks: Sequence[Builder] = ()):
        super().__init__(values)
        self.model = model
        self.networks: tuple[Builder, ...] = tuple(networks)


def plain_tuples(value: Any) -> Any:
    """JSON gives lists where the registry uses tuples (``sample_shape``); restore them, so that equal
    configurations compare equal whichever source they came from."""
    if isinstance(value, list | tuple):
        return tuple(plain_tuples(v) for v in value)
    if isinstance(value, Mapping):
        return {k: plain_tuples(v) for k, v in value.items()}
    return value


def assemble_config(
    spec: ModelSpec,
    *,
    arguments: Mapping[str, Any] | None = None,
    sources: Sequence[Source] = (),
    sample_shape: Sequence[int] | None = None,
    channels: int | None = None,
    num_classes: int | None = None,
    arguments_label: str = "the caller's arguments",
    data_label: str = "the data",
) -> ModelConfig:
    """The configuration ``spec``'s networks are built with (the order is in the module docstring).

    ``arguments`` are the caller's checked options (``coerce_options``); ``sources`` the
    records of existing weights (a file's metadata, a registry weights record).
    """
    explicit: dict[str, tuple[str, Any]] = {}
    layers: list[Source] = [(arguments_label, arguments or {}), *sources]
    for label, values in layers:
        for key, value in values.items():
            value = plain_tuples(value)
            if key in explicit and explicit[key][1] != value:
                raise ConfigConflictError(spec.name, key, explicit[key], (label, value))
            explicit.setdefault(key, (label, value))
    config = dict(spec.config)
    config.update({key: value for key, (_, value) in explicit.items()})
    for key, value in list(config.items()):
        preset = spec.presets.get(f"{key}={value}")
        if preset:
            config.update({k: v for k, v in preset.items() if k not in explicit})
    facts = {
        "sample_shape": None if sample_shape is None else tuple(int(s) for s in sample_shape),
        "channels": None if channels is None else int(channels),
        "num_classes": None if num_classes is None else int(num_classes),
    }
    for key, fact in facts.items():
        if fact is None or key not in config:
            continue
        if key in explicit and explicit[key][1] != fact:
            raise ConfigConflictError(spec.name, key, explicit[key], (data_label, fact))
        config[key] = fact
    return ModelConfig(config, model=spec.name, networks=(spec.generator, spec.discriminator))
