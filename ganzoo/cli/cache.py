"""``ganzoo cache``: what ganzoo keeps on disk (weights, Hub exports, evaluation features, decoded data), with
sizes, and ``ganzoo cache clear`` to free it.

Every kind is re-made on demand (a download, a decoding) when it is gone, so clearing loses nothing but
time. What each kind is, where it lives and what clearing may remove is :mod:`ganzoo.io.caches`.
"""

from __future__ import annotations

import json

import typer

from ..errors import ConfigError
from .common import user_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``ganzoo cache`` (and ``ganzoo cache clear``) to ``app``."""
    cache_app = typer.Typer(
        name="cache",
        help="List ganzoo's caches with their sizes, or clear them.",
        no_args_is_help=False,
        invoke_without_command=True,
        subcommand_metavar="[clear KIND...]",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @cache_app.callback()
    @user_errors
    def cache_command(
        ctx: typer.Context,
        entries: bool = typer.Option(False, "--entries", "-e", help="Also list every cached file with its size."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List ganzoo's caches (weights, Hub exports, evaluation features, decoded data) with their sizes.

        Examples:
          ganzoo cache
          ganzoo cache clear data
          ganzoo cache clear --all
        """
        if ctx.invoked_subcommand is not None:
            return
        from ..io.caches import CACHE_KINDS, scan_cache
        from ..io.files import describe_size

        rows = []
        for kind in CACHE_KINDS:
            folder, found = scan_cache(kind)
            if kind.legacy and not found:
                continue  # an older ganzoo's cache is listed only while it holds something
            rows.append({
                "kind": kind.name, "what": kind.what, "folder": str(folder), "setting": kind.setting,
                "count": len(found), "size": sum(entry.size for entry in found),
                "entries": [{"path": str(entry.path), "size": entry.size} for entry in found],
            })
        if as_json:
            typer.echo(json.dumps(rows if entries else [{k: v for k, v in r.items() if k != "entries"} for r in rows],
                                  indent=2))
            return
        sizes = [describe_size(row["size"]) for row in rows]
        counts = [_count(row["count"]) for row in rows]
        width = max(len(size) for size in sizes)
        count_width = max(len(count) for count in counts)
        name_width = max(len("total"), *(len(row["kind"]) for row in rows))
        for row, size, count in zip(rows, sizes, counts, strict=True):
            typer.echo(f"{row['kind']:<{name_width}} {size:>{width}}  {count:<{count_width}}  {row['folder']}  "
                       f"({row['what']})")
            if entries:
                for entry in row["entries"]:
                    typer.echo(f"    {describe_size(entry['size']):>{width}}  {entry['path']}")
        total = sum(row["size"] for row in rows)
        typer.echo(f"{'total':<{name_width}} {describe_size(total):>{width}}")
        typer.echo("Clear one with 'ganzoo cache clear KIND' (KIND: "
                   + ", ".join(row["kind"] for row in rows) + "), all with 'ganzoo cache clear --all'; "
                   "each is made again when it is needed.")

    @cache_app.command("clear")
    @user_errors
    def clear_command(
        kinds: list[str] = typer.Argument(
            None, metavar="KIND", help="weights, hub, stats or data (see 'ganzoo cache')."
        ),
        everything: bool = typer.Option(False, "--all", help="Clear every cache."),
    ) -> None:
        """Remove cached files: one kind ('ganzoo cache clear data'), or all of them (--all).

        Only the files ganzoo writes there are removed, and no symbolic link is followed.
        """
        from ..io.caches import CACHE_KINDS, clear_cache, find_cache_kind
        from ..io.files import describe_size

        if everything and kinds:
            raise ConfigError("give cache kinds or --all, not both")
        if not everything and not kinds:
            names = ", ".join(kind.name for kind in CACHE_KINDS)
            raise ConfigError(f"name the cache to clear ({names}), or give --all; 'ganzoo cache' shows their sizes")
        chosen = list(CACHE_KINDS) if everything else [find_cache_kind(name) for name in dict.fromkeys(kinds)]
        for kind in chosen:
            removed, freed = clear_cache(kind)
            typer.echo(f"cleared the {kind.name} cache: {_count(removed)}, {describe_size(freed)}")

    app.add_typer(cache_app, name="cache")


def _count(count: int) -> str:
    return "1 entry" if count == 1 else f"{count} entries"
