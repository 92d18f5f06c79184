"""What a run records of its options, derived from the option table: one writer for every record.

A run's *settings* are every option's value for that run: the request's, with what resolution filled
in (the model's defaults on :class:`~.config.ResolvedConfig`, the practices' data-dependent defaults,
and what only the built run knows). From them, by the table's columns (:mod:`.optiontable`):

* the checkpoint's run record (:func:`run_record_of`): every option a resume compares or inherits;
* the equivalent command (:func:`equivalent_command`), for a run started from Python;
* ``config.json``'s ``training`` section and the card (:func:`export_training`): the one writer of the export
  folder's config and card for ``ganzoo train`` and for :class:`ganzoo.lightning.GANModule` alike; each
  passes only the facts it measured (steps, images, hardware, time).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..cards.folder import jsonable as plain
from .config import ResolvedConfig
from .optiontable import card_rows, config_fields

__all__ = ["equivalent_command", "export_training", "run_record_of", "run_settings", "training_section"]


def run_settings(resolved: ResolvedConfig, practices: Any = None, **known: Any) -> dict[str, Any]:
    """Every option's value for this run: the resolved config's attribute of the option's name where it has one
    (the model's defaults filled in), else the request's; then the practices' (EMA, augmentation, R1/R2 and
    schedules, whose defaults depend on the data) and ``known``, what only the built run knows."""
    request = resolved.request
    settings = {
        option.name: getattr(resolved, option.name) if hasattr(resolved, option.name) else getattr(request, option.name)
        for option in config_fields()
    }
    if practices is not None:
        settings.update(practices.run_record())
    settings.update(known)
    return settings


def run_record_of(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The checkpoint's record of the options a resume compares or inherits (:attr:`TrainOption.recorded`)."""
    return {option.name: plain(settings[option.name]) for option in config_fields() if option.recorded}


def equivalent_command(
    resolved: ResolvedConfig,
    total_steps: int,
    launcher: list[str] | None = None,
    practices: Any = None,
) -> str:
    """A ``ganzoo train`` command line that repeats a run started from Python (``launcher``: torchrun's words;
    ``practices``: the run's resolved EMA, augmentation and R1/R2, whose defaults depend on the data)."""
    settings = run_settings(resolved, practices, steps=total_steps)
    words = [*(launcher or []), "ganzoo", "train"]
    for option in config_fields():
        if option.command is not None and settings[option.name] is not None:
            words += option.command(settings[option.name], settings)
    return shlex.join(words)


def training_section(settings: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """``config.json``'s ``training`` section: the options the table records there, then the ``facts`` the
    trainer measured (steps, images, hardware, time; a fact wins over a setting of the same key)."""
    section: dict[str, Any] = {}
    for option in config_fields():
        if option.config is not None:
            value = option.config_value(settings) if option.config_value is not None else settings[option.name]
            section[option.config] = plain(value)
    section.update(facts)
    return section


def export_training(
    folder: str | os.PathLike[str],
    *,
    spec: Any,
    dataset_spec: Any,
    data: Any,
    model_config: Mapping[str, Any],
    generator: Any,
    discriminator: Any,
    settings: Mapping[str, Any],
    facts: Mapping[str, Any],
    metrics: Mapping[str, Any],
    is_image: bool,
    samples_png: str | os.PathLike[str] | None,
    generator_ema: Any = None,
    progress_gif: str | os.PathLike[str] | None = None,
    metric_notes: Mapping[str, str] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write the export folder (weights, config.json, card, samples): the training section from ``settings``
    and ``facts`` (:func:`training_section`), the data's licence, and the card's option rows from the table.
    Returns the folder and the training section."""
    from ..cards.card import CardData, data_license, render_card
    from ..cards.folder import PROGRESS_NAME, write_export
    from ..models.loading import path_source

    training = training_section(settings, facts)
    licence = data_license(dataset_spec, data)
    training["data_license"] = licence
    card = render_card(CardData.of_run(
        spec=spec, dataset=dataset_spec, licence=licence, config=model_config, training=training, metrics=metrics,
        num_params=training.get("num_params"), is_image=is_image, source=path_source(folder),
        progress=PROGRESS_NAME if progress_gif is not None else None, settings=tuple(card_rows(training)),
        metric_notes=dict(metric_notes or {}),
    ))
    written = write_export(
        folder, spec=spec, config=model_config, generator=generator, generator_ema=generator_ema,
        discriminator=discriminator, training=training, metrics=metrics, card=card, samples_png=samples_png,
        dataset=str(training.get("dataset") or ""), loss=str(training.get("loss") or ""), progress_gif=progress_gif,
    )
    return written, training
