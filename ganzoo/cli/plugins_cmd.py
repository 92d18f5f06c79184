"""``ganzoo plugins``: each plugin, where it comes from, the hooks it implements, failures, and name clashes."""

from __future__ import annotations

import json

import typer

from ..registry.catalog import HOOKS, get_registry
from .common import is_terminal, stdout_console, user_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("plugins")
    @user_errors
    def plugins_command(
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        builtins: bool = typer.Option(True, "--builtins/--no-builtins", help="Include the built-in plugins."),
    ) -> None:
        """Show the loaded plugins, their versions and hooks, and those that failed to load."""
        registry = get_registry()
        infos = [p for p in registry.plugins if builtins or not p.builtin]
        tables = {kind: getattr(registry, kind) for kind in HOOKS.values()}
        records = []
        for info in infos:
            record = info.as_dict()
            record["registered"] = {  # by the names that find them: PLUGIN:NAME where another plugin holds the name
                kind: [table.reference(s) for s in table.every_record() if s.plugin == info.name]
                for kind, table in tables.items()
            }
            records.append(record)
        if as_json:
            typer.echo(json.dumps(records, indent=2))
            return
        if is_terminal():
            from rich.markup import escape
            from rich.table import Table

            table = Table(box=None, header_style="bold", pad_edge=False)
            for column in ("plugin", "distribution", "version", "hooks", "status"):
                table.add_column(column, overflow="fold")
            for record in records:
                status = (
                    f"[red]failed: {escape(record['error'])}[/]" if record["error"] else "[green]ok[/]"
                    + "".join(f"; [yellow]{escape(clash)}[/]" for clash in record["clashes"])
                )
                table.add_row(
                    f"[cyan]{record['name']}[/]",
                    record["distribution"],
                    record["version"],
                    ", ".join(record["hooks"]) or "-",
                    status,
                )
            stdout_console().print(table)
            return
        for record in records:
            status = f"FAILED {record['error']}" if record["error"] else "; ".join(["ok", *record["clashes"]])
            hooks = ",".join(record["hooks"]) or "-"
            typer.echo(f"{record['name']}\t{record['distribution']} {record['version']}\t{hooks}\t{status}")
