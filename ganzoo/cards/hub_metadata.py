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
    "protocol_args",
]

IMAGE_PIPELINE = "unconditional-image-generation"
TRAINING_METRICS = frozenset({"loss_d", "loss_g", "d_real", "d_fake", "images_per_s"})

_TASK_NAMES = {IMAGE_PIPELINE: "Unconditional Image Generation"}
_METRIC_NAMES = {"fid": "FID", "kid_mean": "KID", "kid_std": "KID std", "precision": "Precision", "recall": "Recall"}


def _reportable(name: str, value: Any) -> bool:
    if name in TRAINING_METRICS or isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def protocol_args(protocol: Mapping[str, Any] | None) -> dict[str, Any]:
    """The facts of an evaluation protocol record (:func:`ganzoo.metrics.protocol.protocol_record`) that make
    its numbers comparable, as a metric's ``args``: the feature space, the sample count and the reference.

    An FID in ``mnist-classifier`` space and one in ``fid-inception`` space are different measurements, so
    every metric says which it is, and :func:`merge_model_index` never lets one replace the other.
    """
    if not protocol or not protocol.get("extractor"):
        return {}
    if "reference_stats" in protocol:
        reference = "reference statistics"
    else:
        reference = f"{protocol.get('reference_split')} split, {protocol.get('real_count')} samples"
    return {"extractor": str(protocol["extractor"]), "samples": protocol.get("generated_count"),
            "reference": reference, "image_handling": protocol.get("image_handling")}


def _metric(name: str, value: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    label = _METRIC_NAMES.get(name, name.replace("_", " "))
    metric = {"type": name, "value": value, "name": f"{label} ({args['extractor']})" if args else label}
    if args:
        metric["args"] = {key: value for key, value in args.items() if value is not None}
    return metric


def _extractor_of(metric: Any) -> str | None:
    args = metric.get("args") if isinstance(metric, dict) else None
    return str(args["extractor"]) if isinstance(args, dict) and args.get("extractor") else None


def model_index(model: str, dataset: str, metrics: Mapping[str, Any], *, task: str = IMAGE_PIPELINE,
                protocol: Mapping[str, Any] | None = None) -> list[Any]:
    """The ``model-index`` of ``model``'s measured ``metrics`` on ``dataset``; empty when none is a measurement.

    With the evaluation's ``protocol`` record each metric names its feature space (:func:`protocol_args`).
    """
    args = protocol_args(protocol)
    measured = [_metric(name, value, args) for name, value in metrics.items() if _reportable(name, value)]
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


def merge_model_index(front: dict[str, Any], metrics: Mapping[str, Any],
                      protocol: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``front`` with ``metrics`` in its ``model-index``, the rest kept as written.

    A new metric replaces the written one of the same type in the same feature space (or in an unnamed
    one: a card written before metrics named their extractor), never one measured with another
    extractor. A card without ``pipeline_tag`` (not an image model) gets no ``model-index``.
    """
    task = front.get("pipeline_tag")
    if not task:
        return front
    block = front.get("ganzoo") if isinstance(front.get("ganzoo"), Mapping) else {}
    model = str(block.get("model") or "model")
    datasets = front.get("datasets")
    datasets = [datasets] if isinstance(datasets, str) else datasets  # the Hub takes one name or a list
    dataset = datasets[0] if isinstance(datasets, list) and datasets else None
    fresh = model_index(model, str(dataset or block.get("dataset") or "unknown"), metrics, task=str(task),
                        protocol=protocol)
    extractor = protocol_args(protocol).get("extractor")
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
    kept = [m for m in written
            if not (isinstance(m, dict) and m.get("type") in metrics and _extractor_of(m) in (None, extractor))]
    result["metrics"] = kept + new
    return front
