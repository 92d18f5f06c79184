"""A model card's front matter as the Hugging Face Hub reads it.

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
from collections.abc import Mapping
from typing import Any

__all__ = [
    "IMAGE_PIPELINE",
    "TRAINING_METRICS",
    "merge_model_index",
    "model_index",
]

IMAGE_PIPELINE = "unconditional-image-generation"
TRAINING_METRICS = frozenset({"loss_d", "loss_g", "d_real", "d_fake", "images_per_s"})

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
