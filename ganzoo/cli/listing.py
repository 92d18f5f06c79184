"""``ganzoo list``: the registered models, as a table on a terminal, plain text when piped, or JSON.

A record whose name an earlier plugin holds is listed under ``PLUGIN:NAME``, the name that finds
it, and one line on stderr says which names clash (stdout stays one row per record for scripts).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import typer

from ..registry.catalog import Table, get_registry
from ..registry.records import ModelSpec
from .common import is_terminal, stdout_console, user_errors

__all__ = ["model_row", "register"]


def _listed(table: Table[Any], pattern: str | None) -> list[Any]:
    """The records of ``table`` whose bare name matches ``pattern``: the owners by name, then the shadowed ones."""
    shadowed = [s for s in table.shadowed_records() if not pattern or fnmatch.fnmatchcase(s.name, pattern)]
    return [table.records[name] for name in table.names(pattern)] + shadowed


def _note_clashes() -> None:
    """One line on stderr when plugins registered the same name (``ganzoo plugins`` says more)."""
    lines = get_registry().clash_lines()
    if lines:
        from .common import stderr_console

        stderr_console().print(f"note: {'; '.join(lines)}", markup=False)


def model_row(spec: ModelSpec) -> dict[str, Any]:
    """The facts ``ganzoo list`` shows for one model (also its JSON record)."""
    from ..registry.catalog import reference_name

    return {
        "name": reference_name(spec),
        "kind": spec.kind,
        "default_dataset": spec.default_dataset,
        "datasets": list(spec.datasets),
        "default_loss": spec.default_loss,
        "pretrained": bool(spec.weights),
        "weights": [f"{spec.name}.{w.tag}" for w in spec.weights],
        "plugin": spec.plugin,
        "summary": spec.summary,
    }


def _list_table(rows: list[dict[str, Any]], kind: str) -> None:
    from rich.table import Table

    table = Table(title=None, header_style="bold", box=None, pad_edge=False)
    for column in ("name", "kind", "dataset", "pretrained", "plugin", "summary"):
        table.add_column(column, overflow="fold" if column == "summary" else "ellipsis")
    for row in rows:
        table.add_row(
            f"[cyan]{row['name']}[/]",
            row["kind"],
            row["default_dataset"] or "-",
            ", ".join(row["weights"]) if row["weights"] else "[dim]no[/]",
            row["plugin"],
            row["summary"],
        )
    stdout_console().print(table)


def _list_plain(rows: list[dict[str, Any]]) -> None:
    header = ("NAME", "KIND", "DATASET", "PRETRAINED", "PLUGIN")
    records = [
        (r["name"], r["kind"], r["default_dataset"] or "-", ",".join(r["weights"]) or "no", r["plugin"])
        for r in rows
    ]
    widths = [max(len(str(v)) for v in column) for column in zip(header, *records, strict=True)]
    for record in (header, *records):
        typer.echo("  ".join(str(v).ljust(w) for v, w in zip(record, widths, strict=True)).rstrip())


_TITLES = {"models": "models", "losses": "losses", "datasets": "datasets", "extractors": "feature extractors",
           "callbacks": "training callbacks"}
_HOOKS = {"models": "register_models", "losses": "register_losses", "datasets": "register_datasets",
          "extractors": "register_feature_extractors", "callbacks": "register_callbacks"}


def _say_empty(kind: str, pattern: str | None) -> None:
    """An empty listing is said in one line on stderr, on a terminal and in a pipe alike (stdout stays empty
    for scripts): silence would read as a broken command."""
    from .common import stderr_console

    title = _TITLES.get(kind, kind)
    if pattern:
        line = f"no {title} match {pattern!r}; 'ganzoo list' without a pattern lists them all"
    else:
        hook = _HOOKS.get(kind, "")
        where = "none is built in, plugins add them" if kind == "callbacks" else "plugins add them"
        line = f"no {title} are registered; {where} with the {hook} hook (docs/plugins/tutorial.md)"
    stderr_console().print(line, markup=False)


def _simple_rows(kind: str, pattern: str | None) -> list[dict[str, Any]]:
    registry = get_registry()
    table = {"losses": registry.losses, "datasets": registry.datasets, "extractors": registry.extractors,
             "callbacks": registry.callbacks}[kind]
    rows = []
    for spec in _listed(table, pattern):
        row: dict[str, Any] = {"name": table.reference(spec), "plugin": spec.plugin, "summary": spec.summary}
        if kind == "datasets":
            row.update(
                sample_shape=list(spec.sample_shape) if spec.sample_shape else None,
                num_classes=spec.num_classes,
                can_download=spec.can_download,
                embedded=spec.embedded,
                license=spec.license,
            )
        rows.append(row)
    return rows


def register(app: typer.Typer) -> None:
    from .common import complete_model

    @app.command("list")
    @user_errors
    def list_command(
        pattern: str | None = typer.Argument(
            None, help="fnmatch pattern, e.g. 'dcgan*'.", autocompletion=complete_model
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
        losses: bool = typer.Option(False, "--losses", help="List the registered losses instead."),
        datasets: bool = typer.Option(False, "--datasets", help="List the registered datasets instead."),
        extractors: bool = typer.Option(False, "--extractors", help="List the feature extractors instead."),
        callbacks: bool = typer.Option(False, "--callbacks", help="List the training callbacks instead."),
    ) -> None:
        """List the registered models (or losses, datasets, feature extractors, training callbacks)."""
        kinds = {"losses": losses, "datasets": datasets, "extractors": extractors, "callbacks": callbacks}
        chosen = [k for k, v in kinds.items() if v]
        if len(chosen) > 1:
            from .common import error

            error("choose one of --losses, --datasets, --extractors, --callbacks")
        _note_clashes()
        if chosen:
            rows = _simple_rows(chosen[0], pattern)
            if not rows and not as_json:
                _say_empty(chosen[0], pattern)
                return
            if as_json:
                typer.echo(json.dumps(rows, indent=2))
            elif is_terminal():
                from rich.table import Table

                table = Table(box=None, header_style="bold", pad_edge=False)
                for column in ("name", "plugin", "summary"):
                    table.add_column(column)
                for row in rows:
                    table.add_row(f"[cyan]{row['name']}[/]", row["plugin"], row["summary"])
                stdout_console().print(table)
            else:
                for row in rows:
                    typer.echo(f"{row['name']}\t{row['plugin']}\t{row['summary']}")
            return
        registry = get_registry()
        rows = [model_row(spec) for spec in _listed(registry.models, pattern)]
        if not rows and not as_json:
            _say_empty("models", pattern)
            return
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
        elif is_terminal():
            _list_table(rows, "models")
        else:
            _list_plain(rows)
