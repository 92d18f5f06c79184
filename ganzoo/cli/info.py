"""``ganzoo info NAME``: everything the registry knows about a model, its weights and their card."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import typer

from ..export import jsonable
from ..registry import get_registry, split_weights_name
from ..specs import DEFAULT_CARD_PACKAGE, ModelSpec, WeightsSpec, describe_builder
from .common import complete_model, is_terminal, stdout_console, user_errors

__all__ = ["card_path", "model_info", "register"]


def card_path(weights: WeightsSpec) -> str | None:
    """Where the card of ``weights`` is installed, or None when it is not shipped."""
    if not weights.card:
        return None
    package = weights.card_package or DEFAULT_CARD_PACKAGE
    try:
        path = resources.files(package) / weights.card
    except ModuleNotFoundError:
        return None
    return str(path) if path.is_file() else None


def _weights_info(weights: WeightsSpec) -> dict[str, Any]:
    return {
        "tag": weights.tag,
        "dataset": weights.dataset,
        "sha256": weights.sha256,
        "num_params": weights.num_params,
        "metrics": dict(weights.metrics),
        "recipe": weights.recipe,
        "license": weights.license,
        "file": f"{weights.package}/{weights.filename}" if weights.filename else None,
        "url": weights.url,
        "card": card_path(weights),
        **{key: value for key, value in weights.extra.items()},
    }


def model_info(spec: ModelSpec) -> dict[str, Any]:
    """Everything ``ganzoo info`` shows, as a JSON-ready dict."""
    registry = get_registry()
    datasets = [n for n in registry.datasets.names() if spec.trains_on(n)]
    losses = list(spec.losses) or registry.losses.names()
    return {
        "name": spec.name,
        "summary": spec.summary,
        "kind": spec.kind,
        "plugin": spec.plugin,
        "reference": spec.reference,
        "generator": describe_builder(spec.generator),
        "discriminator": describe_builder(spec.discriminator),
        "architecture": spec.architecture,
        "config": jsonable(spec.config),
        "options": {
            k: (list(v) if isinstance(v, tuple) else getattr(v, "__name__", str(v))) for k, v in spec.options.items()
        },
        "presets": {k: jsonable(v) for k, v in spec.presets.items()},
        "hyperparameters": jsonable(spec.hyperparameters),
        "default_dataset": spec.default_dataset,
        "datasets": datasets,
        "default_loss": spec.default_loss,
        "losses": losses,
        "default_weights": spec.default_weights,
        "weights": [_weights_info(w) for w in spec.weights],
    }


def _print_plain(info: dict[str, Any]) -> None:
    echo = typer.echo
    echo(f"{info['name']}: {info['summary']}")
    echo(f"  kind:            {info['kind']}")
    echo(f"  plugin:          {info['plugin']}")
    if info["reference"]:
        echo(f"  reference:       {info['reference']}")
    echo(f"  generator:       {info['generator']}")
    echo(f"  discriminator:   {info['discriminator']}")
    echo(f"  default dataset: {info['default_dataset']}   accepts: {', '.join(info['datasets'])}")
    echo(f"  default loss:    {info['default_loss']}   accepts: {', '.join(info['losses'])}")
    echo("  config:          " + ", ".join(f"{k}={v}" for k, v in info["config"].items()))
    if info["options"]:
        echo("  options:         " + ", ".join(f"{k} ({v})" for k, v in info["options"].items()))
    for key, preset in info["presets"].items():
        echo(f"  preset {key}: " + ", ".join(f"{k}={v}" for k, v in preset.items()))
    echo("  hyper-parameters: " + ", ".join(f"{k}={v}" for k, v in info["hyperparameters"].items()))
    if info["architecture"]:
        echo("  architecture:")
        for line in info["architecture"].splitlines():
            echo(f"    {line}")
    if not info["weights"]:
        echo("  pretrained weights: none")
    for weights in info["weights"]:
        default = " (default)" if weights["tag"] == info["default_weights"] else ""
        echo(f"  weights {info['name']}.{weights['tag']}{default}:")
        echo(f"    dataset: {weights['dataset']}   license: {weights['license']}")
        echo(f"    sha256:  {weights['sha256']}")
        if weights["num_params"]:
            echo(f"    params:  {weights['num_params']:,}")
        if weights["metrics"]:
            echo("    metrics: " + ", ".join(f"{k}={v}" for k, v in weights["metrics"].items()))
        if weights["recipe"]:
            echo(f"    trained: {weights['recipe']}")
        for key in ("seed", "steps", "train_time", "hardware", "storage"):
            if key in weights:
                echo(f"    {key}: {weights[key]}")
        if weights["card"]:
            echo(f"    card:    {weights['card']}")


def register(app: typer.Typer) -> None:
    @app.command("info")
    @user_errors
    def info_command(
        name: str = typer.Argument(..., help="Model name (or name.tag).", autocompletion=complete_model),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Show everything known about a model: architecture, defaults, datasets, losses, weights."""
        model_name, tag = split_weights_name(name)
        spec = get_registry().models.get(model_name)
        if tag is not None:
            spec.get_weights(tag)  # an unknown tag is an error with suggestions
        info = model_info(spec)
        if as_json:
            typer.echo(json.dumps(info, indent=2))
            return
        if is_terminal():
            from rich.markup import escape

            console = stdout_console()
            console.print(f"[bold cyan]{escape(info['name'])}[/] [dim]({info['kind']}, plugin {info['plugin']})[/]")
            console.print(escape(info["summary"]))
        _print_plain(info) if not is_terminal() else _print_rest(info)


def _print_rest(info: dict[str, Any]) -> None:
    # On a terminal the header is styled; the body reads best as the same aligned text.
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        _print_plain(info)
    lines = buffer.getvalue().splitlines()[1:]
    typer.echo("\n".join(lines))
