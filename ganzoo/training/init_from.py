"""``--init-from SOURCE``: a new run that starts from pretrained weights (fine-tuning).

StyleGAN2-ADA's ``--resume=ffhq256`` starts a new run from a pretrained network; ganzoo's
``--resume`` continues a run folder. ``--init-from`` takes every source :func:`ganzoo.load` takes (a zoo
name such as ``dcgan-faces.utkface``, an export folder, ``hf://OWNER/REPO``, a URL), with its checks
(hashes, the file's configuration, the generator's shapes before anything is allocated), and copies
into the new run's networks what the source holds:

* the generator's trained weights and its moving average (an export of a run with ``--ema`` has both;
  a file with only one gives it to both);
* the discriminator, where the source has one. Export folders (``ganzoo train``'s, and those on the
  Hub) carry it; the zoo's shipped files hold the generator's average only, to keep ``ganzoo.load``'s
  download small, so a fine-tuning from a zoo name starts with a fresh discriminator (the notice says so).

The new run's networks are built as usual (the same seed draws the same numbers), then overwritten:
the architectures must match, tensor by tensor, or the run is refused in one line naming the first
tensor that does not fit. Optimizer states, counters and streams start afresh: this is a new run
(``--resume`` continues one and refuses ``--init-from``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError

__all__ = ["Pretrained", "fit_state", "init_from", "pretrained_states"]


@dataclass
class Pretrained:
    """The tensors a source holds, by network (keys without their prefix), and what it is."""

    source: str
    model: str
    config: dict[str, Any]
    generator: dict[str, torch.Tensor] | None
    generator_ema: dict[str, torch.Tensor] | None
    discriminator: dict[str, torch.Tensor] | None


def _weights_file(loaded: Any) -> Path | None:
    """The ganzoo weights file a non-registry source was read from (an export folder's, or the file itself)."""
    from ..cards.folder import WEIGHTS_NAME, export_file

    where = Path(str(loaded.source))
    if where.is_dir():
        return export_file(where, WEIGHTS_NAME)
    return where if where.is_file() else None


def pretrained_states(source: str, *, download: bool = True) -> Pretrained:
    """Load ``source`` as :func:`ganzoo.load` does (all its checks), then every network's tensors it holds."""
    from ..cards.weights import read_header, read_tensors
    from ..models.loading import load

    loaded = load(source, download=download)
    model = loaded.spec.name if loaded.spec is not None else str(loaded.name)
    file = None if loaded.weights is not None else _weights_file(loaded)
    if file is None:  # a zoo file: the generator (its average, as shipped) only
        state = {k: v.detach().cpu() for k, v in loaded.generator.state_dict().items()}
        average = state if loaded.ema else None
        return Pretrained(source, model, dict(loaded.config), None if loaded.ema else state, average, None)
    header = read_header(file, str(file))
    tensors = read_tensors(file, str(file), header.shapes)

    def under(prefix: str) -> dict[str, torch.Tensor] | None:
        found = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        return found or None

    return Pretrained(source, model, dict(loaded.config), under("generator."), under("generator_ema."),
                      under("discriminator."))


def fit_state(module: nn.Module, state: Mapping[str, torch.Tensor], role: str, pretrained: Pretrained) -> None:
    """Copy ``state`` into ``module``, or refuse in one line naming the first tensor that does not fit."""
    expected = module.state_dict()
    misfit = None
    for key, target in expected.items():
        if key not in state:
            if not key.endswith("num_batches_tracked"):  # BatchNorm's step counter: inference never reads it
                misfit = f"tensor '{role}.{key}' of this run is not in the source"
                break
        elif tuple(state[key].shape) != tuple(target.shape):
            found = "x".join(map(str, state[key].shape)) or "scalar"
            wanted = "x".join(map(str, target.shape)) or "scalar"
            misfit = f"tensor '{role}.{key}' is {found} in the source but {wanted} in this run"
            break
    extra = [key for key in state if key not in expected]
    if misfit is None and extra:
        misfit = f"tensor '{role}.{extra[0]}' of the source is not in this run"
    if misfit is not None:
        raise ConfigError(
            f"--init-from {pretrained.source} does not fit this run: {misfit}; the source is {pretrained.model} "
            f"with configuration {pretrained.config}: give the same --option values"
        )
    with torch.no_grad():
        for key, target in expected.items():
            if key in state:
                target.copy_(state[key].to(dtype=target.dtype))


def init_from(source: str, model: str, generator: nn.Module, discriminator: nn.Module) -> tuple[Pretrained, str]:
    """Load ``source`` into the new run's networks (before its EMA copy is made); returns the source's tensors
    (the caller puts its average into the run's EMA with :func:`fit_state`) and one line saying what was loaded."""
    pretrained = pretrained_states(source)
    if pretrained.model != model:
        raise ConfigError(
            f"--init-from {source} holds a {pretrained.model} model, not {model}: fine-tune it with "
            f"'ganzoo train {pretrained.model} --init-from {source}' or choose a {model} source"
        )
    trained = pretrained.generator or pretrained.generator_ema
    assert trained is not None  # ganzoo.load refuses a file without generator tensors
    fit_state(generator, trained, "generator", pretrained)
    loaded = ["the generator" if pretrained.generator is not None else "the generator (the source's moving average: "
              "it has no other)"]
    if pretrained.generator_ema is not None and pretrained.generator is not None:
        loaded.append("its moving average")
    if pretrained.discriminator is not None:
        fit_state(discriminator, pretrained.discriminator, "discriminator", pretrained)
        loaded.append("the discriminator")
        rest = ""
    else:
        rest = "; the discriminator starts from scratch (the source has none: zoo files hold the generator only)"
    return pretrained, f"initialised from {source}: {', '.join(loaded)}{rest}"

