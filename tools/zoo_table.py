"""Print the README's table of pretrained zoo weights from the registry (and the floor, when given).

The README shows the table between ``<!-- zoo-table -->`` and ``<!-- /zoo-table -->``;
``tests/test_zoo.py`` checks that it equals what this script prints, so the numbers a
reader sees are the numbers the weights records and model cards hold.

    python tools/zoo_table.py [--floor mnist=FLOOR.json ...] [--write README.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import ganzoo

COLUMNS = (
    ("fid", "FID ↓"),
    ("kid_mean", "KID ↓"),
    ("precision", "precision ↑"),
    ("recall", "recall ↑"),
    ("classes_covered", "classes"),
    ("conditional_accuracy", "cond. acc. ↑"),
)
START, END = "<!-- zoo-table -->", "<!-- /zoo-table -->"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def _extractor(weights: ganzoo.WeightsSpec) -> str:
    return str(weights.extra.get("extractor", "mnist-classifier"))


def _features(extractor: str, protocol: dict[str, Any] | None) -> str:
    """The feature space a table's numbers were measured in; fid-inception's names its protocol (N, split, resize)."""
    if extractor != "fid-inception" or not protocol:
        return extractor
    return (f"fid-inception, {protocol.get('n', '?')} samples vs '{protocol.get('reference_split', '?')}', "
            f"{protocol.get('resize', 'tf1')} resize")


def table(floors: dict[str, dict[str, Any]] | None = None) -> str:
    """The Markdown tables, one per feature space (numbers from different extractors never share a column):
    one row per weights entry of every registered model, then the floors measured with the same features."""
    groups: dict[str, list[str]] = {}
    for name in ganzoo.list_models():
        spec = ganzoo.get_model_spec(name)
        for weights in spec.weights:
            training = f"{weights.extra.get('steps')} steps, {weights.extra.get('train_time')}"
            card = f"[`{name}.{weights.tag}`](model_cards/{weights.card})"
            # the record's own space first, then each space it was rescored in (tools/rescore_weights.py)
            spaces = [(_extractor(weights), weights.metrics, weights.extra.get("eval_protocol")),
                      *((str(extractor), metrics, None)
                        for extractor, metrics in dict(weights.extra.get("metrics_by_extractor") or {}).items())]
            for extractor, metrics, protocol in spaces:
                cells = [_cell(metrics.get(key)) for key, _ in COLUMNS]
                groups.setdefault(_features(extractor, protocol), []).append(
                    "| " + " | ".join([card, weights.dataset, training, *cells, extractor]) + " |"
                )
    for dataset, floor in (floors or {}).items():
        metrics = floor["metrics"]
        cells = [_cell(metrics.get(key)) for key, _ in COLUMNS]
        extractor = floor["protocol"]["extractor"]
        protocol = {"n": floor["protocol"].get("generated_count"), "resize": floor["protocol"].get("extractor_resize"),
                    "reference_split": floor["protocol"].get("reference_split")}
        groups.setdefault(_features(extractor, protocol), []).append(
            "| " + " | ".join(["**floor**: real data", dataset, "-", *cells, extractor]) + " |"
        )
    tables = []
    for features, rows in groups.items():
        header = ["weights", "trained on", "training", *(f"{label} ({features})" if key in ("fid", "kid_mean")
                                                          else label for key, label in COLUMNS), "features"]
        tables.append("\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *rows]))
    return "\n\n".join(tables)


def replace_in_readme(text: str, rendered: str) -> str:
    start, end = text.index(START) + len(START), text.index(END)
    return text[:start] + "\n" + rendered + "\n" + text[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", action="append", default=[], metavar="DATASET=JSON",
                        help="ganzoo eval DATASET --real --json output to show as the floor row")
    parser.add_argument("--write", type=Path, help="replace the table in this README")
    args = parser.parse_args()
    floors = {}
    for item in args.floor:
        dataset, _, path = item.partition("=")
        floors[dataset] = json.loads(Path(path).read_text(encoding="utf-8"))
    rendered = table(floors)
    if args.write:
        args.write.write_text(replace_in_readme(args.write.read_text(encoding="utf-8"), rendered), encoding="utf-8")
    print(rendered)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
