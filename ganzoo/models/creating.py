"""``ganzoo.create``: a new, untrained GAN of a registered model, and the one way networks are built.

``create`` and loading (:mod:`ganzoo.models.loading`) both build a network through
:func:`build_network`, so that a builder's failure reads the same wherever it happens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..registry.builders import call_with_accepted
from ..registry.catalog import get_registry
from ..registry.records import DatasetSpec, ModelSpec
from .model_config import assemble_config
from .sampling import GAN, resolve_device

__all__ = ["build_network", "create"]


def build_network(spec: ModelSpec, builder: Any, config: Mapping[str, Any], role: str) -> nn.Module:
    """``builder`` called with the keys of ``config`` it accepts; a builder that raises is a ``PluginError``
    naming its plugin, the model and the network (:mod:`ganzoo.registry.builders`)."""
    module = call_with_accepted(builder, config)
    if not isinstance(module, nn.Module):
        raise ConfigError(f"model {spec.name!r}: its {role} builder returned a {type(module).__name__}, not a Module")
    return module


def _dataset_spec(spec: ModelSpec, dataset: str | None) -> DatasetSpec | None:
    registry = get_registry()
    if dataset is None:  # the model's own plugin's record first (docs/plugins/reference.md, "Names and clashes")
        return registry.datasets.find(spec.default_dataset, prefer=spec.plugin) if spec.default_dataset else None
    found = registry.datasets.get(dataset, prefer=spec.plugin)
    if not spec.trains_on(found):
        accepted = [n for n in registry.datasets.names() if spec.trains_on(registry.datasets.records[n])]
        raise ConfigError(
            f"{spec.name} does not train on dataset {found.name!r}; use one of: {', '.join(accepted)}"
        )
    return found


def create(
    name: str,
    *,
    device: str | torch.device = "cpu",
    dataset: str | None = None,
    seed: int | None = None,
    **options: Any,
) -> GAN:
    """A new, untrained GAN of the registered model ``name``: its generator and discriminator.

    ``options`` are the model's configurable keys (``ganzoo info NAME`` lists them);
    any other key is a ConfigError that names the accepted ones. ``dataset`` (default:
    the model's own) supplies the sample shape, channels and number of classes, as in
    training. ``seed`` makes the initial weights reproducible without disturbing torch's
    global random state.

    >>> gan = ganzoo.create("dcgan-mnist", width=32)          # doctest: +SKIP
    >>> gan.sample(4, seed=0).shape                            # doctest: +SKIP
    torch.Size([4, 1, 28, 28])
    """
    from .model_options import coerce_options

    if not isinstance(name, str):
        raise ConfigError(f"create() takes a model name, got {type(name).__name__}")
    spec = get_registry().models.get(name)
    checked = coerce_options(spec, options)
    data = _dataset_spec(spec, dataset)
    if data is None:
        config = assemble_config(spec, arguments=checked)
    else:
        if spec.conditional and data.num_classes is None:
            raise ConfigError(f"{spec.name} is conditional and needs labelled data; {data.name!r} has no labels")
        config = assemble_config(
            spec,
            arguments=checked,
            sample_shape=data.sample_shape,
            channels=data.channels,
            num_classes=data.num_classes,
            data_label=f"dataset {data.name!r}",
        )
    target = resolve_device(device)
    with torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext():
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
            torch.manual_seed(seed)
        generator = build_network(spec, spec.generator, config, "generator")
        discriminator = build_network(spec, spec.discriminator, config, "discriminator")
    return GAN(
        generator.to(target),
        discriminator.to(target),
        spec=spec,
        config=config,
        dataset=data.name if data is not None else None,
    )
