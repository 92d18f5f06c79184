"""A model card's front matter as the Hugging Face Hub reads it, and the check ``ganzoo push`` makes first.

The Hub indexes ``library_name``, ``tags``, ``datasets``, ``license``, ``pipeline_tag`` and
the evaluation results in ``model-index`` (one entry per model; per task and dataset a list
of ``{type, value, name}`` metrics). The Hub has no class-conditional generation task, so a
conditional image model is filed under ``unconditional-image-generation`` as well and says
what it is in its tags (``class-conditional-image-generation``). Only measurements of the
model go into ``model-index``: the losses and D outputs of the last training window
(:data:`TRAINING_METRICS`) describe the game, not the model, and stay in ``ganzoo.results``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .export import CARD_NAME, CONFIG_NAME, PROGRESS_NAME, SAMPLES_NAME, WEIGHTS_NAME

__all__ = [
    "IMAGE_PIPELINE",
    "TRAINING_METRICS",
    "UPLOAD_FILES",
    "check_export",
    "merge_model_index",
    "model_index",
]

IMAGE_PIPELINE = "unconditional-image-generation"
TRAINING_METRICS = frozenset({"loss_d", "loss_g", "d_real", "d_fake", "images_per_s"})
UPLOAD_FILES = (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME, SAMPLES_NAME, PROGRESS_NAME)
"""What ``ganzoo push`` uploads of an export folder (what there is of it): nothing else in the folder."""

_TASK_NAMES = {IMAGE_PIPELINE: "Unconditional Image Generation"}
_METRIC_NAMES = {"fid": "FID", "kid_mean": "KID", "kid_std": "KID std", "precision": "Precision", "recall": "Recall"}


def _reportable(name: str, value: Any) -> bool:
    if name in TRAINING_METRICS or isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def _metric(name: str, value: Any) -> dict[str, Any]:
    return {"type": name, "value": value, "name": _METRIC_NAMES.get(name, name.replace("_", " "))}


def model_index(model: str, dataset: str, metrics: Mapping[str, Any], *, task: str = IMAGE_PIPELINE) -> list[Any]:
    """The ``model-index`` of ``model``'s measured ``metrics`` on ``dataset``; empty when none is a measurement."""
    measured = [_metric(name, value) for name, value in metrics.items() if _reportable(name, value)]
    if not measured:
        return []
    return [
        {
            "name": model,
            "results": [
                {
                    "task": {"type": task, "name": _TASK_NAMES.get(task, task)},
                    "dataset": {"type": dataset, "name": dataset},
                    "metrics": measured,
                }
            ],
        }
    ]


def merge_model_index(front: dict[str, Any], metrics: Mapping[str, Any]) -> dict[str, Any]:
    """``front`` with ``metrics`` in its ``model-index`` (replacing the same metric types), the rest kept as written.

    A card without ``pipeline_tag`` (not an image model) gets no ``model-index``.
    """
    task = front.get("pipeline_tag")
    if not task:
        return front
    block = front.get("ganzoo") if isinstance(front.get("ganzoo"), Mapping) else {}
    model = str(block.get("model") or "model")
    datasets = front.get("datasets")
    datasets = [datasets] if isinstance(datasets, str) else datasets  # the Hub takes one name or a list
    dataset = datasets[0] if isinstance(datasets, list) and datasets else None
    fresh = model_index(model, str(dataset or block.get("dataset") or "unknown"), metrics, task=str(task))
    if not fresh:
        return front
    entries = front.get("model-index")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        front["model-index"] = fresh
        return front
    results = entries[0].get("results")
    result = results[0] if isinstance(results, list) and results and isinstance(results[0], dict) else None
    if result is None:
        entries[0]["results"] = fresh[0]["results"]
        return front
    new = fresh[0]["results"][0]["metrics"]
    written = result.get("metrics") if isinstance(result.get("metrics"), list) else []
    kept = [m for m in written if not (isinstance(m, dict) and m.get("type") in metrics)]
    result["metrics"] = kept + new
    return front


def check_export(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``config.json`` of the export ``folder`` once it passed what the Hub and ``ganzoo.load`` need; else one line.

    The folder must be one ``ganzoo.load`` reads (config, ``model.safetensors``), and its card's
    front matter must be YAML with ``library_name: ganzoo`` and a ``license``, and a ``model-index``
    (where there is one) that huggingface_hub parses, as the Hub does. No file that would be uploaded may
    be a link out of the folder (:class:`~ganzoo.folderguard.FolderGuard`): the Hub client reads through
    links, and a private file must not end up in a public repository.
    """
    from .errors import CardError, WeightsError
    from .export import read_config
    from .extras import require
    from .folderguard import FolderGuard
    from .frontmatter import parse_front_matter, read_card_text

    folder = Path(folder)
    if not folder.is_dir():
        raise WeightsError(f"{folder} is not a folder: give the export folder 'ganzoo train' wrote (OUT/export)")
    guard = FolderGuard(folder, what="export folder")
    for name in UPLOAD_FILES:  # what is uploaded is read by the Hub client, which follows links: none may lead out
        guard.check(folder / name)
    document = read_config(folder)
    if not (folder / WEIGHTS_NAME).is_file():
        raise WeightsError(f"{folder} has no {WEIGHTS_NAME}: it is not a complete ganzoo export folder")
    card = folder / CARD_NAME
    if not card.is_file():
        raise CardError(f"{folder} has no {CARD_NAME}: the Hub shows the model card from it")
    front = parse_front_matter(read_card_text(guard.check(card)), source=str(card))
    missing = [key for key in ("library_name", "license") if not front.get(key)]
    if missing or front.get("library_name") != "ganzoo":
        raise CardError(
            f"{card}: the front matter needs library_name: ganzoo and a license (missing: "
            f"{', '.join(missing) or 'library_name: ganzoo'})"
        )
    if front.get("model-index"):
        cards = require("huggingface_hub.repocard_data", "hub", what="Checking a model card for the Hub")
        try:
            cards.model_index_to_eval_results(front["model-index"])
        except (KeyError, TypeError, ValueError, AttributeError) as failure:
            raise CardError(f"{card}: its model-index is not in the Hub's form ({failure})") from None
    return document
