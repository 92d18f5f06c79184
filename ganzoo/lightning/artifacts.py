"""``GANModule.export``: the networks a Lightning fit trained, as the export folder ``ganzoo train`` writes.

The folder is written by the trainer's own writers (:func:`ganzoo.cards.folder.write_export` and the model card of
:func:`ganzoo.cards.card.render_card`), so ``ganzoo.load``, ``ganzoo sample``, ``ganzoo eval --write-card`` and
``ganzoo info`` read it like any other. The training facts are the ones a Lightning fit knows: steps, images,
hyper-parameters, precision, device and time; the command line only when the caller gives it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from .._version import __version__
from ..cards.folder import SAMPLES_NAME
from ..models.device import describe_hardware
from ..training.window import METRICS

GANModule = Any
"""A :class:`ganzoo.lightning.GANModule` (named, not imported: the module imports this one to export itself)."""

__all__ = ["TRAINER", "export_module", "training_facts"]

TRAINER = "a Lightning Trainer (ganzoo.lightning.GANModule)"
"""How the card says the weights were trained (``ganzoo train`` exports say "ganzoo's own trainer")."""


def _datamodule(module: GANModule) -> Any:
    trainer = module._trainer
    return getattr(trainer, "datamodule", None) if trainer is not None else None


def training_facts(module: GANModule, command: str | None) -> dict[str, Any]:
    """What the module's last fit measured, for the ``training`` section of config.json and the card; the options'
    part of that section comes from the option table (:func:`ganzoo.training.record.training_section`)."""
    config, trainer = module.config, module._trainer
    data = _datamodule(module)
    samples = len(data.data) if getattr(data, "data", None) is not None else None
    device = module.device
    facts: dict[str, Any] = {
        "trainer": TRAINER,
        "dataset": getattr(data, "name", None) or config.dataset,
        "split": getattr(data, "split", "train"),
        "samples": samples,
        "steps": module.steps_done,
        "d_steps": module.d_steps,
        "precision": str(trainer.precision) if trainer is not None else "32-true",
        "device": str(device),
        "hardware": describe_hardware(device),
        "wall_time_s": round(module._fit_time, 2),
        "images_seen": module.images_seen,
        "ganzoo_version": __version__,
        "lightning_version": L.__version__,
        "num_params": {
            "generator": sum(p.numel() for p in module.generator.parameters()),
            "discriminator": sum(p.numel() for p in module.discriminator.parameters()),
        },
    }
    if samples:
        facts["epochs"] = round(module.images_seen / samples, 3)
    if trainer is not None and trainer.world_size > 1:
        facts["world_size"] = trainer.world_size
        facts["batch_size_per_device"] = config.batch_size
        facts["global_batch_size"] = config.batch_size * trainer.world_size
    if command:
        facts["command"] = command
    return {key: value for key, value in facts.items() if value is not None}


def export_module(module: GANModule, folder: Path, *, command: str | None = None) -> Path:
    """Write ``folder``: weights, config.json, the model card and the fixed-noise grid, through the trainer's
    own writer (:func:`ganzoo.training.record.export_training`)."""
    from ..io.files import make_folder
    from ..io.imaging import save_samples
    from ..training.memory_layout import layout_word
    from ..training.record import export_training, run_settings

    config = module.config
    data = _datamodule(module)
    metrics: dict[str, Any] = {}
    if module.last_row is not None:
        metrics = {name: round(float(value), 6) for name, value in zip(METRICS, module.last_row.cpu(), strict=True)}
    folder = make_folder(folder, what="the export folder")
    samples = save_samples(module.sample_grid(), folder / SAMPLES_NAME, nrow=module.fixed.nrow)
    with torch.no_grad():
        written, _ = export_training(
            folder, spec=config.spec, dataset_spec=getattr(data, "spec", None) or config.dataset_spec,
            data=getattr(data, "data", None), model_config=module.model_config, generator=module.generator,
            discriminator=module.discriminator,
            settings=run_settings(config, reuse_fakes=bool(config.request.reuse_fakes),
                                  memory_format=layout_word(module.channels_last)),
            facts=training_facts(module, command), metrics=metrics, is_image=module.is_image, samples_png=samples,
        )
    return written
