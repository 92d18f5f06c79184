"""``ganzoo gallery [RUN_DIR...] -o site/``: a static HTML site of the zoo, or of run folders side by side.

The gallery package (and torch, which drawing the zoo's samples needs) is imported only when
the command runs, so ``ganzoo --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .common import user_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``ganzoo gallery`` to ``app``."""

    @app.command("gallery")
    @user_errors
    def gallery(
        runs: list[Path] | None = typer.Argument(
            None, metavar="RUN_DIR", help="Run folders (ganzoo train --out) to show side by side; none: the zoo."
        ),
        output: Path = typer.Option(
            ..., "-o", "--output", help="The folder to write the site into (new, empty or an earlier gallery)."
        ),
        offline: bool = typer.Option(False, "--offline", help="Never download weights: use packaged or cached ones."),
    ) -> None:
        """Write a static HTML site (no server, opens from file://): every registered model with its
        pretrained weights (samples, interpolation GIF, training command, metrics, model card), or the
        given run folders (grids over time, progress GIF, curves, final metrics).

        Examples:
          ganzoo gallery -o site/
          ganzoo gallery runs/a runs/b -o compare/
        """
        from ..gallery.site import Site

        site = Site(output)
        if runs:
            from ..gallery.runs import build_runs

            built = build_runs(site, list(runs))
            typer.echo(f"wrote a gallery of {len(built)} runs to {site.path('index.html')}")
            return
        from ..gallery.zoo import build_zoo

        entries = build_zoo(site, download=not offline, say=lambda line: typer.echo(line, err=True))
        typer.echo(f"wrote a gallery of {len(entries)} pretrained weights to {site.path('index.html')}")
