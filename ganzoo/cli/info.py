"""``ganzoo info NAME``: everything the registry knows about a model (its weights and their card), a loss,
a dataset or a feature extractor.

A name is looked up among every kind of record; one registered under the same name in two kinds
(a dataset and an extractor, say) needs ``--kind``. Nothing here imports torch: builders are
shown by their reference, never imported.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import typer

from ..errors import ConfigError, UnknownNameError
from ..io.files import jsonable
from ..registry.builders import describe_builder
from ..registry.catalog import Registry, get_registry, split_weights_name
from ..registry.records import DEFAULT_CARD_PACKAGE, DatasetSpec, ExtractorSpec, LossSpec, ModelSpec, WeightsSpec
from .common import complete_model, is_terminal, stdout_console, user_errors

__all__ = [
    "callback_info", "card_path", "dataset_info", "extractor_info", "find_records", "loss_info", "model_info",
    "register",
]

KINDS = {"model": "models", "loss": "losses", "dataset": "datasets", "extractor": "extractors", "callback": "callbacks"}
"""``--kind`` values and the registry tables they name."""


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
        "lineage": list(weights.lineage),
        "license": weights.license,
        "file": f"{weights.package}/{weights.filename}" if weights.filename else None,
        "url": weights.url,
        "card": card_path(weights),
        **{key: value for key, value in weights.extra.items()},
    }


def _declared(options: Any) -> dict[str, Any]:
    """Declared options as JSON: allowed values as a list, a type by its name."""
    return {k: (list(v) if isinstance(v, tuple) else getattr(v, "__name__", str(v))) for k, v in options.items()}


def model_info(spec: ModelSpec) -> dict[str, Any]:
    """Everything ``ganzoo info`` shows about a model, as a JSON-ready dict."""
    registry = get_registry()
    datasets = [n for n in registry.datasets.names() if spec.trains_on(registry.datasets.records[n])]
    losses = list(spec.losses) or registry.losses.names()
    return {
        "record": "model",
        "name": spec.name,
        "summary": spec.summary,
        "kind": spec.kind,
        "plugin": spec.plugin,
        "reference": spec.reference,
        "generator": describe_builder(spec.generator),
        "discriminator": describe_builder(spec.discriminator),
        "architecture": spec.architecture,
        "config": jsonable(spec.config),
        "options": _declared(spec.options),
        "presets": {k: jsonable(v) for k, v in spec.presets.items()},
        "hyperparameters": jsonable(spec.hyperparameters),
        "default_dataset": spec.default_dataset,
        "sample_shapes": list(spec.shape_patterns()),
        "datasets": datasets,
        "default_loss": spec.default_loss,
        "losses": losses,
        "default_weights": spec.default_weights,
        "weights": [_weights_info(w) for w in spec.weights],
    }


def _identity(record: str, spec: Any) -> dict[str, Any]:
    """What every record's description starts with: its kind, name, summary and plugin (the name that finds it:
    ``PLUGIN:NAME`` for a record whose bare name an earlier plugin holds)."""
    from ..registry.catalog import reference_name

    return {"record": record, "name": reference_name(spec), "summary": spec.summary, "plugin": spec.plugin}


def loss_info(spec: LossSpec) -> dict[str, Any]:
    """What ``ganzoo info`` shows about a loss, as a JSON-ready dict."""
    models = get_registry().models
    accepting = [n for n in models.names() if not models.records[n].losses or spec.name in models.records[n].losses]
    return {
        **_identity("loss", spec),
        "builder": describe_builder(spec.builder),
        "formula": spec.formula,
        "reference": spec.reference,
        "options": _declared(spec.options),
        "default_for": [n for n in models.names() if models.records[n].default_loss == spec.name],
        "models": accepting,
    }


def dataset_info(spec: DatasetSpec) -> dict[str, Any]:
    """What ``ganzoo info`` shows about a dataset, as a JSON-ready dict."""
    models = get_registry().models
    return {
        **_identity("dataset", spec),
        "loader": describe_builder(spec.loader),
        "sample_shape": list(spec.sample_shape) if spec.sample_shape is not None else None,
        "channels": spec.channels,
        "num_classes": spec.num_classes,
        "splits": list(spec.splits),
        "can_download": spec.can_download,
        "embedded": spec.embedded,
        "license": spec.license,
        "homepage": spec.homepage,
        "default_for": [n for n in models.names() if models.records[n].default_dataset == spec.name],
        "models": [n for n in models.names() if models.records[n].trains_on(spec)],
    }


def extractor_info(spec: ExtractorSpec) -> dict[str, Any]:
    """What ``ganzoo info`` shows about a feature extractor, as a JSON-ready dict."""
    return {
        **_identity("extractor", spec),
        "builder": describe_builder(spec.builder),
        "datasets": list(spec.datasets),
        "classifier": spec.classifier,
    }


def callback_info(spec: Any) -> dict[str, Any]:
    """What ``ganzoo info`` shows about a training callback, as a JSON-ready dict."""
    example = next(iter(spec.options), None)
    use = f"ganzoo train MODEL --callback {spec.name}"
    if example is not None:
        use += f" --callback-option {spec.name}.{example}=VALUE"
    return {
        **_identity("callback", spec),
        "builder": describe_builder(spec.builder),
        "options": _declared(spec.options),
        "use": use,
    }


def find_records(name: str, registry: Registry | None = None) -> list[tuple[str, Any]]:
    """Every record named ``name``, as ``(kind, spec)``: the one each kind's table finds (``PLUGIN:NAME`` for a
    record whose bare name another plugin holds). A model may be named with a weights tag (``name.tag``; the tag
    must exist). None found: an error suggesting names of every kind."""
    registry = registry or get_registry()
    found: list[tuple[str, Any]] = []
    for kind, table_name in KINDS.items():
        record = getattr(registry, table_name).find(name)
        if record is not None:
            found.append((kind, record))
    model, tag = split_weights_name(name)
    spec = registry.models.find(model) if not found and tag is not None else None
    if spec is not None:
        spec.get_weights(tag)  # an unknown tag is an error that names the known ones
        found.append(("model", spec))
    if not found:
        known = [n for table_name in KINDS.values() for n in getattr(registry, table_name).records]
        known += [f"{spec.name}.{w.tag}" for spec in registry.models.records.values() for w in spec.weights]
        raise UnknownNameError(
            "model, loss, dataset, feature extractor or callback",
            name,
            known,
            hint="Run 'ganzoo list' (or with --losses, --datasets, --extractors or --callbacks) to see them.",
        )
    return found


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
    echo(f"  sample shapes:   {', '.join(info['sample_shapes']) or 'none declared'}")
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
        _print_weights(weights, "    ")


def _print_weights(weights: dict[str, Any], indent: str) -> None:
    """One weights entry: where the file is, its hash and size, what it scored, how it was trained, its card."""
    echo = typer.echo
    data = f"{weights['data']} ({weights['dataset']})" if weights.get("data") else weights["dataset"]
    echo(f"{indent}dataset: {data}   license: {weights['license']}")
    for key in ("file", "url"):
        if weights.get(key):
            echo(f"{indent}{key + ':':<9}{weights[key]}")
    echo(f"{indent}sha256:  {weights['sha256']}")
    if weights["num_params"]:
        echo(f"{indent}params:  {weights['num_params']:,}")
    # one line per feature space: numbers measured with different extractors are never on one line
    spaces = [(weights.get("extractor"), weights["metrics"]), *dict(weights.get("metrics_by_extractor") or {}).items()]
    for extractor, metrics in spaces:
        if metrics:
            space = f" ({extractor})" if extractor else ""
            echo(f"{indent}metrics{space}: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))
    lineage = weights.get("lineage") or []
    if len(lineage) > 1:  # a resumed run: every session's command, in order
        echo(f"{indent}trained in {len(lineage)} sessions, each resuming the one before:")
        for number, command in enumerate(lineage, 1):
            echo(f"{indent}  {number}. {command}")
    elif lineage:
        echo(f"{indent}trained: {lineage[0]}")
    for key in ("seed", "steps", "train_time", "hardware", "storage"):
        if key in weights:
            echo(f"{indent}{key}: {weights[key]}")
    if weights["card"]:
        echo(f"{indent}card:    {weights['card']}")


def weights_info(spec: ModelSpec, tag: str) -> dict[str, Any]:
    """``ganzoo info NAME.TAG``: the weights entry itself, with the model it belongs to."""
    weights = spec.get_weights(tag)
    return {"record": "weights", "name": f"{spec.name}.{weights.tag}", "model": spec.name, "summary": spec.summary,
            "default": weights.tag == spec.default_weights, **_weights_info(weights)}


def _print_record(info: dict[str, Any]) -> None:
    """A loss, dataset or extractor: its fields, one a line, empty ones left out."""
    typer.echo(f"{info['name']}: {info['summary']}")
    for key, value in info.items():
        if key in ("name", "summary") or value in (None, "", [], {}):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k} ({v})" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        label = key.replace("_", " ") + ":"
        typer.echo(f"  {label:<17}{value}")


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


_DESCRIBE = {
    "model": model_info, "loss": loss_info, "dataset": dataset_info, "extractor": extractor_info,
    "callback": callback_info,
}


def register(app: typer.Typer) -> None:
    @app.command("info")
    @user_errors
    def info_command(
        name: str = typer.Argument(
            ..., help="A model (or model.tag), loss, dataset or feature extractor.", autocompletion=complete_model
        ),
        kind: str | None = typer.Option(
            None, "--kind", help="model, loss, dataset, extractor or callback: for a name registered as more than one."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Show everything known about a model (architecture, defaults, datasets, losses, weights), a loss, a
        dataset or a feature extractor."""
        if kind is not None and kind not in KINDS:
            raise ConfigError(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
        found = find_records(name)
        kinds = " and ".join(_a(k) for k, _ in found)
        if kind is not None:
            chosen = [(k, spec) for k, spec in found if k == kind]
            if not chosen:
                raise ConfigError(f"{name!r} is {kinds}, not {_a(kind)}")
            found = chosen
        if len(found) > 1:
            raise ConfigError(f"{name!r} is {kinds}; choose one with --kind ({' or '.join(k for k, _ in found)})")
        record_kind, spec = found[0]
        _, tag = split_weights_name(name)
        if record_kind == "model" and tag is not None and get_registry().models.find(name) is None:
            described = weights_info(spec, tag)  # NAME.TAG is the weights entry, not the whole model again
            if as_json:
                typer.echo(json.dumps(described, indent=2))
                return
            default = ", the model's default" if described["default"] else ""
            typer.echo(f"{described['name']}: pretrained weights of {described['model']}{default}")
            _print_weights(described, "  ")
            typer.echo(f"  model:   {described['model']}: {described['summary']}")
            typer.echo(f"           'ganzoo info {described['model']}' shows its architecture, options and weights")
            return
        clash = get_registry().table_of(spec).clash_line(spec.name)
        if clash:  # stdout stays the record; the other plugins' records of the name are one line on stderr
            from .common import stderr_console

            stderr_console().print(f"note: {clash}", markup=False)
        info = _DESCRIBE[record_kind](spec)
        if as_json:
            typer.echo(json.dumps(info, indent=2))
            return
        if record_kind != "model":
            _print_record(info)
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
