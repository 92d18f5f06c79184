"""Publish a trained export folder as zoo weights: the maintainers' release step.

``ganzoo train`` writes ``OUT/export`` (generator + discriminator, config, card);
``ganzoo eval EXPORT --write-card`` adds measured quality to that card. This script turns
the result into what the package ships:

* ``plugins/weights/MODEL.TAG.safetensors``: the generator only, stored as float16 unless
  ``--dtype float32`` (the script measures what fp16 storage changes in the samples and
  refuses when it is more than ``--max-fp16-error``);
* ``model_cards/MODEL.TAG.md``: the export's card, pointed at the zoo name instead of the
  run folder, with a "Weights" section (file, storage, sha256);
* ``model_cards/MODEL.TAG.png``: a sample grid drawn from the shipped file with seed 0;
* ``model_cards/MODEL.TAG.gif``: the run's fixed-noise grids during training, when the export has them
  (the card shows every picture from beside itself, in the repository and in the wheel);

and prints the ``ganzoo.WeightsSpec(...)`` record to paste into the plugin's
``register_models``. The sha256 is of the final file, so card, record and file agree
(``tests/test_zoo.py`` checks that they do).

    python tools/publish_weights.py runs/zoo/dcgan-mnist/export --tag mnist
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shlex
import sys
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = ROOT / "plugins" / "weights"
CARDS_DIR = ROOT / "model_cards"
GRID_SEED = 0
TRAINING_METRICS = ("loss_d", "loss_g", "d_real", "d_fake", "images_per_s")


def _grid_request(loaded: Any) -> tuple[int, Any, int]:
    """64 samples in 8 rows, or for a conditional model one row of 10 per class."""
    if loaded.num_classes:
        per_row = 10
        labels = [label for label in range(loaded.num_classes) for _ in range(per_row)]
        return len(labels), labels, per_row
    return 64, None, 8


def _evaluation_notes(eval_command: str | None, floor: dict[str, Any] | None) -> str:
    """How the evaluation was run, and the real-data floor under the same protocol, for the card."""
    notes = ""
    if eval_command:
        notes += f"Measured with:\n\n```bash\n{eval_command}\n```\n\n"
    if floor:
        metrics = floor["metrics"]
        shown = ", ".join(
            f"{key} {metrics[key]:.4g}" if isinstance(metrics[key], float) else f"{key} {metrics[key]}"
            for key in ("fid", "kid_mean", "precision", "recall", "classes_covered")
            if key in metrics
        )
        notes += (
            f"For scale, the floor: real `{floor['protocol']['dataset']}` training samples scored the same way "
            f"against the same reference give {shown}.\n\n"
        )
    return notes


def _card_for_zoo(
    text: str, *, export: Path, name: str, picture: str, animation: str | None, sections: str
) -> str:
    """The export's card with the zoo name where it names the run folder, and ``sections`` before "Data"."""
    from ganzoo.cards.card import split_front_matter
    from ganzoo.cards.folder import PROGRESS_NAME

    front, body = split_front_matter(text)
    for spelling in {str(export), str(export.resolve()), str(export) + "/"}:
        body = body.replace(f'ganzoo.load("{spelling}")', f'ganzoo.load("{name}")')
        body = body.replace(f"ganzoo sample {spelling} ", f"ganzoo sample {name} ")
    body = body.replace("](samples.png)", f"]({picture})")
    if animation is not None:
        body = body.replace(f"]({PROGRESS_NAME})", f"]({animation})")
    caption = f"Samples of the shipped weights, seed {GRID_SEED}"
    body = body.replace("Fixed-noise samples at the end of training", caption)
    anchor = body.find("## Data\n")
    body = body[:anchor] + sections + body[anchor:] if anchor >= 0 else body + "\n" + sections
    return front + body


def portable_renames(commands: str) -> dict[str, str]:
    """This machine's folders in ``commands`` (one command a line) and the placeholders a record shows instead.

    A recipe is copied onto other machines: ``--data ../shared/data/faces/utkface`` becomes
    ``--data path/to/utkface`` (the folder the reader has to name) and an ``--out`` outside the
    working folder (absolute, or climbing out with ``..``) becomes ``runs/NAME``; a path that starts
    with such an ``--out`` (``ganzoo eval /work/runs/x/export``) follows it.
    """
    renames: dict[str, str] = {}
    for line in commands.splitlines():
        words = shlex.split(line)
        for flag, value in itertools.pairwise(words):
            path = PurePosixPath(value)
            if flag == "--data" and not value.startswith("path/to/"):
                renames[value] = f"path/to/{path.name}"
            elif flag == "--out" and (path.is_absolute() or ".." in path.parts):
                renames[value] = f"runs/{path.name}"
    return renames


def portable(text: str, renames: dict[str, str]) -> str:
    """``text`` with every word that is, or starts with, a renamed folder (:func:`portable_renames`) renamed;
    the longest names first, so that ``../shared/data/faces`` is not taken for ``../shared/data``."""
    for old in sorted(renames, key=len, reverse=True):
        text = re.sub(rf"(?<![\w./-]){re.escape(old)}(?=[/\s'\"]|$)", renames[old], text, flags=re.MULTILINE)
    return text


def _literal(value: Any, indent: str) -> str:
    """``repr`` wrapped for a source file: long strings split at spaces, long dicts one item per line."""
    if isinstance(value, str) and len(value) > 80:
        words, parts, line = value.split(" "), [], ""
        for word in words:
            if line and len(line) + len(word) > 72:
                parts.append(line)
                line = ""
            line += word + " "
        parts.append(line[:-1])
        inner = indent + "    "
        return "(\n" + "".join(f"{inner}{part!r}\n" for part in parts) + f"{indent})"
    if isinstance(value, dict) and len(repr(value)) > 80:
        inner = indent + "    "
        items = "".join(f"{inner}{key!r}: {_literal(item, inner)},\n" for key, item in value.items())
        return "{\n" + items + indent + "}"
    return repr(value)


def _spec_literal(**fields: Any) -> str:
    lines = ["ganzoo.WeightsSpec("]
    for key, value in fields.items():
        lines.append(f"    {key}={_literal(value, '    ')},")
    lines.append(")")
    return "\n".join(lines)


def publish(
    export: Path,
    tag: str,
    dtype_name: str,
    max_error: float,
    eval_command: str | None = None,
    floor: dict[str, Any] | None = None,
    note: str | None = None,
    data_name: str | None = None,
) -> str:
    import torch

    import ganzoo
    from ganzoo.cards.card import format_wall_time
    from ganzoo.cards.folder import CARD_NAME, PROGRESS_NAME, read_export, write_generator_weights
    from ganzoo.io.files import write_bytes, write_text
    from ganzoo.io.imaging import save_samples

    document, g_state, _ = read_export(export)
    model = document["model"]
    name = f"{model}.{tag}"
    reference = ganzoo.load(export)
    generator = reference.generator

    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    weights_path = WEIGHTS_DIR / f"{name}.safetensors"
    dtype = {"float16": torch.float16, "float32": torch.float32}[dtype_name]
    # a run with --ema ships its average, the generator its card's metrics describe, as generator_ema.*
    write_generator_weights(weights_path, generator, model=model, config=document["config"], dtype=dtype,
                            ema=reference.ema)
    shipped = ganzoo.load(weights_path)

    count, labels, nrow = _grid_request(reference)
    wanted = reference.sample(count, seed=GRID_SEED, labels=labels)
    got = shipped.sample(count, seed=GRID_SEED, labels=labels)
    error = float((wanted - got).abs().max())
    if error > max_error:
        weights_path.unlink()
        raise SystemExit(
            f"{dtype_name} storage changes samples by up to {error:.4f} (> {max_error}); use --dtype float32"
        )

    picture = f"{name}.png"
    save_samples(got.float(), CARDS_DIR / picture, nrow=nrow)
    animation = None
    if (export / PROGRESS_NAME).is_file():
        animation = f"{name}.gif"
        write_bytes(CARDS_DIR / animation, (export / PROGRESS_NAME).read_bytes())
    from ganzoo.io.files import file_sha256

    digest = file_sha256(weights_path)
    size_kib = weights_path.stat().st_size / 1024
    training = document.get("training", {})
    # the record keeps measured quality (ganzoo eval); training losses stay in the card
    metrics = {
        key: (float(f"{value:.4g}") if isinstance(value, float) else value)
        for key, value in document.get("metrics", {}).items()
        if key not in TRAINING_METRICS
    }
    resumed = ""
    if "\n" in str(training.get("command", "")).strip():
        resumed = (
            "The run was extended with `--resume` (the commands above, in order); on the CPU a resumed run ends "
            "with exactly the weights of an uninterrupted run to the final length.\n\n"
        )
    if note:
        resumed += note.strip() + "\n\n"
    contents = ("the generator's moving average only (`generator_ema.*`; the run's export also has the trained "
                "weights)" if reference.ema else "generator only")
    section = (
        resumed + "## Weights\n\n"
        "| | |\n|---|---|\n"
        f"| file | `{weights_path.name}` (shipped in the `ganzoo_plugins.weights` package) |\n"
        f"| contents | {contents}, {len(g_state)} tensors, {sum(t.numel() for t in g_state.values()):,} values |\n"
        f"| storage | {dtype_name}; largest change of a sample value against the float32 weights "
        f"(64 samples, seed {GRID_SEED}): {error:.2g} on a [-1, 1] scale |\n"
        f"| size | {size_kib:,.0f} KiB |\n"
        f"| sha256 | `{digest}` |\n\n"
        f"Load with `ganzoo.load(\"{name}\")`; the sample grid above is drawn from this file with seed {GRID_SEED}.\n\n"
    )
    card_text = (export / CARD_NAME).read_text(encoding="utf-8")
    card = _card_for_zoo(
        card_text,
        export=export,
        name=model,
        picture=picture,
        animation=animation,
        sections=_evaluation_notes(eval_command, floor) + section,
    )
    # the card and the record show commands a reader runs elsewhere: this machine's folders become placeholders
    renames = portable_renames(f"{training.get('command', '')}\n{eval_command or ''}")
    card = portable(card, renames)
    write_text(CARDS_DIR / f"{name}.md", card)

    extra = {
        **({"data": data_name} if data_name else {}),
        "seed": training.get("seed"),
        "steps": training.get("steps"),
        "epochs": training.get("epochs"),
        "batch_size": training.get("batch_size"),
        "train_time": format_wall_time(float(training.get("wall_time_s", 0.0))),
        "hardware": training.get("hardware"),
        "storage": f"{dtype_name}, " + ("generator EMA only" if reference.ema else "generator only"),
        "extractor": document.get("evaluation", {}).get("protocol", {}).get("extractor"),
    }
    spec = _spec_literal(
        tag=tag,
        dataset=document["dataset"],
        sha256=digest,
        package="ganzoo_plugins.weights",
        filename=weights_path.name,
        config=dict(document["config"]),
        num_params=sum(p.numel() for p in generator.parameters()),
        metrics=metrics,
        recipe=portable(training.get("command", ""), renames),
        card=f"{name}.md",
        license=training.get("data_license", ""),
        extra=extra,
    )
    print(f"wrote {weights_path.relative_to(ROOT)} ({size_kib:,.0f} KiB, {dtype_name}, max sample change {error:.2g})")
    print(f"wrote model_cards/{name}.md and model_cards/{picture}")
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="export folder written by ganzoo train (OUT/export)")
    parser.add_argument("--tag", required=True, help="weights tag: MODEL.TAG, e.g. mnist")
    parser.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    parser.add_argument("--max-fp16-error", type=float, default=0.02, help="largest allowed change of a sample value")
    parser.add_argument("--eval-command", help="the ganzoo eval command that measured the card's metrics")
    parser.add_argument("--floor-json", type=Path, help="ganzoo eval DATASET --real --json output: the floor")
    parser.add_argument("--note", help="a paragraph for the card: why the run departs from the model's defaults")
    parser.add_argument("--data-name", help="what the data was, when the dataset record is a generic loader "
                        "(image-folder): e.g. UTKFace; ganzoo info shows it")
    parser.add_argument("--spec-out", type=Path, help="also write the WeightsSpec literal to this file")
    args = parser.parse_args(argv)
    from ganzoo.cards.folder import CONFIG_NAME

    if not (args.export / CONFIG_NAME).is_file():
        print(f"error: {args.export} is not an export folder (no {CONFIG_NAME}); pass OUT/export", file=sys.stderr)
        return 2
    floor = json.loads(args.floor_json.read_text(encoding="utf-8")) if args.floor_json else None
    spec = publish(args.export, args.tag, args.dtype, args.max_fp16_error, args.eval_command, floor, args.note,
                   args.data_name)
    print(spec)
    if args.spec_out:
        args.spec_out.write_text(spec + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
