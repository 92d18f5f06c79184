"""``ganzoo eval``: FID, KID, precision/recall and class coverage, with the protocol stated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ..errors import redact
from .common import complete_model, is_terminal, stdout_console, user_errors

__all__ = ["register"]

METRIC_LABELS = {
    "fid": "FID",
    "kid_mean": "KID (mean)",
    "kid_std": "KID (std over subsets)",
    "precision": "precision",
    "recall": "recall",
    "classes_covered": "classes covered",
    "class_tv": "class share TV to uniform",
    "class_kl": "class share KL to uniform",
    "conditional_accuracy": "conditional accuracy",
}


def _default_dataset(model: Any) -> str:
    """The dataset a loaded model was trained on (weights record, export config, or spec default)."""
    if getattr(model, "weights", None) is not None:
        return model.weights.dataset
    dataset = getattr(model, "metadata", {}).get("dataset")
    if dataset:
        return str(dataset)
    if getattr(model, "spec", None) is not None and model.spec.default_dataset:
        return model.spec.default_dataset
    from ..errors import ConfigError

    raise ConfigError("cannot tell which dataset to compare with: pass --dataset NAME")


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.1f}"
    return str(value)


def _print_result(title: str, result: Any) -> None:
    rows = [(METRIC_LABELS.get(k, k), _format(v)) for k, v in result.metrics.items()]
    if is_terminal():
        from rich.table import Table

        table = Table(title=title, box=None, header_style="bold", pad_edge=False)
        table.add_column("metric")
        table.add_column("value", justify="right")
        for row in rows:
            table.add_row(*row)
        console = stdout_console()
        console.print(table)
        console.print(f"[dim]{result.protocol_text()}[/]")
        return
    typer.echo(title)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        typer.echo(f"  {label:<{width}}  {value}")
    typer.echo("protocol: " + result.protocol_text().replace("\n", "\n          "))


def _progress(quiet: bool) -> Any:
    if quiet:
        return None
    import sys

    def report(stage: str, done: int, total: int) -> None:
        if done == total or done == 0:
            sys.stderr.write(f"ganzoo eval: {stage} {done}/{total}\n")

    return report


def register(app: typer.Typer) -> None:
    @app.command("eval")
    @user_errors
    def eval_command(
        source: str = typer.Argument(
            ...,
            help="Model name (name.tag), export folder (./path), URL, hf://OWNER/REPO; with --real, a dataset name.",
            autocompletion=complete_model,
        ),
        dataset: str | None = typer.Option(None, "--dataset", help="Dataset to compare with (default: training data)."),
        data: Path | None = typer.Option(None, "--data", help="Data directory (default: $GANZOO_DATA_DIR)."),
        split: str | None = typer.Option(None, "--split", help="Reference split (default: test, if it exists)."),
        n: int = typer.Option(10000, "--n", "-n", min=2, help="Generated (and reference) samples."),
        extractor: str | None = typer.Option(None, "--extractor", help="Feature extractor (ganzoo list --extractors)."),
        seed: int = typer.Option(0, "--seed", help="Seed for latents, labels and subsets."),
        image_size: int | None = typer.Option(
            None, "--image-size", min=8,
            help="Size to compare images at (default: the model's; needed with --real for an image folder).",
        ),
        batch_size: int = typer.Option(500, "--batch-size", min=1),
        device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N, mps or auto."),
        download: bool = typer.Option(False, "--download", help="Allow downloading data or extractor weights."),
        extractor_weights: Path | None = typer.Option(
            None, "--extractor-weights", metavar="PATH",
            help="fid-inception: its weights file (pt_inception-2015-12-05-6726825d.pth), checked by sha256.",
        ),
        extractor_resize: str | None = typer.Option(
            None, "--extractor-resize", metavar="MODE",
            help="fid-inception: the resize to 299: tf1 (torch-fidelity, StyleGAN2-ADA; default), pytorch-fid, "
            "or clean (clean-fid).",
        ),
        reference_stats: Path | None = typer.Option(
            None, "--reference-stats", metavar="FILE.npz",
            help="Score against these statistics (pytorch-fid's mu/sigma .npz) instead of the reference split: "
            "FID only.",
        ),
        save_stats: Path | None = typer.Option(
            None, "--save-stats", metavar="FILE.npz",
            help="Write the reference split's statistics there, in pytorch-fid's .npz format.",
        ),
        real: bool = typer.Option(False, "--real", help="Score real train samples against the reference: the floor."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON (metrics, protocol, details, timings)."),
        write_card: bool = typer.Option(
            False, "--write-card", help="Write the metrics into the export folder's config.json and model card."
        ),
        truncation: float | None = typer.Option(
            None, "--truncation", metavar="T",
            help="Score truncated latents: every value beyond +-T redrawn (BigGAN's trick; e.g. 1.0, 0.7, 0.5): "
            "fidelity for variety. With --write-card it fills the card's truncation table.",
        ),
        ema: bool = typer.Option(
            True, "--ema/--no-ema",
            help="Score the generator's moving average where the weights have one (default), or the trained "
            "weights.",
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines on stderr."),
    ) -> None:
        """Measure a model's samples against real data: FID, KID, precision/recall, class coverage."""
        from .. import metrics
        from ..ranges import COUNT, SEED, TRUNCATION, NumberRange, check_numbers

        check_numbers([("-n", n, NumberRange(low=2, high=COUNT.high, integer=True)), ("--seed", seed, SEED),
                       ("--batch-size", batch_size, COUNT), ("--truncation", truncation, TRUNCATION)])
        if save_stats is not None:
            from ..io.files import check_output_file

            check_output_file(save_stats, what="--save-stats", suffixes=(".npz",))
        options: dict[str, Any] = {
            "data_dir": data,
            "split": split,
            "n": n,
            "extractor": extractor,
            "extractor_options": _extractor_options(extractor, download, extractor_weights, extractor_resize),
            "reference_stats": reference_stats,
            "save_stats": save_stats,
            "batch_size": batch_size,
            "seed": seed,
            "device": device,
            "image_size": image_size,
            "progress": _progress(quiet or as_json),
        }
        if real:
            if write_card:
                from ..errors import ConfigError

                raise ConfigError("--write-card needs a model export folder, not --real")
            result = metrics.evaluate_real(dataset or source, reference_split=split, **{
                k: v for k, v in options.items() if k != "split"
            })
            title = f"real {redact(dataset or source)} train vs {result.protocol['reference_split']} (the floor)"
        else:
            from ..models import load

            model = load(source, device=device, ema=ema)
            card_folder = _card_folder(model) if write_card else None  # checked before the evaluation
            chosen = dataset or _default_dataset(model)
            result = metrics.evaluate_model(model, dataset=chosen, truncation=truncation, **options)
            title = f"{redact(source)} vs {chosen}"
            title += f" (truncation {truncation:g})" if truncation is not None else ""
            if card_folder is not None:
                _write_card(card_folder, result, truncation)
        if as_json:
            typer.echo(json.dumps({"source": redact(source), **result.as_dict()}, indent=2, default=str))
        else:
            _print_result(title, result)


def _extractor_options(
    extractor: str | None, download: bool, weights: Path | None, resize: str | None
) -> dict[str, Any] | None:
    """The options for the extractor's builder; the extractor's own ones only with the extractor named."""
    options: dict[str, Any] = {"download": True} if download else {}
    own = {"weights_path": weights, "resize": resize}
    given = [f"--extractor-{key.split('_')[0]}" for key, value in own.items() if value is not None]
    if given and extractor is None:
        from ..errors import ConfigError

        raise ConfigError(f"{' and '.join(given)} belong to one extractor: name it, e.g. --extractor fid-inception")
    options.update({key: value for key, value in own.items() if value is not None})
    return options or None


def _card_folder(model: Any) -> Path:
    """The export folder ``--write-card`` writes into, checked writable, and its card readable (bounded,
    UTF-8, front matter that :func:`ganzoo.cards.folder.read_card` accepts), before minutes of evaluation."""
    from ..cards.folder import CARD_NAME, CONFIG_NAME, read_card
    from ..errors import ConfigError
    from ..io.files import check_output_file

    source = getattr(model, "source", None)
    folder = Path(source) if source else None
    if folder is None or not (folder / CONFIG_NAME).is_file():
        raise ConfigError("--write-card needs an export folder as the source (e.g. ./runs/NAME/export)")
    for name in (CONFIG_NAME, CARD_NAME):
        check_output_file(folder / name, what="--write-card")
    read_card(folder)
    return folder


def _write_card(folder: Path, result: Any, truncation: float | None) -> None:
    """Record the metrics in an export folder: config.json's "metrics" and the card's front matter; a truncated
    evaluation goes into the card's truncation table instead, next to the untruncated numbers."""
    from ..cards.folder import record_evaluation, record_truncation

    if truncation is not None:
        record_truncation(folder, truncation=truncation, metrics=result.metrics)
        return
    record_evaluation(folder, metrics=result.metrics, protocol=result.protocol, protocol_text=result.protocol_text())
