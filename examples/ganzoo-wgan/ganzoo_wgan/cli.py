"""``ganzoo wgan-info``: which installed models suit a Wasserstein loss.

WGAN-GP and WGAN-LP penalise the critic's gradient per sample, which BatchNorm in the
discriminator breaks (each score then depends on the whole batch). This command builds
each registered model's discriminator and reports whether it normalises over the batch,
so you know which models to train with ``--loss wgan-gp`` or ``--loss wgan-lp``.
"""

from __future__ import annotations

import json

import typer

import ganzoo

WASSERSTEIN = ("wgan-gp", "wgan-lp")


def _batch_norm_layers(model: str) -> list[str]:
    from torch import nn

    gan = ganzoo.create(model, seed=0)
    return [
        name
        for name, layer in gan.discriminator.named_modules()
        if isinstance(layer, nn.modules.batchnorm._BatchNorm)
    ]


def register(app: typer.Typer) -> None:
    @app.command("wgan-info")
    def wgan_info(
        pattern: str = typer.Argument("*", help="Only models matching this pattern (fnmatch), e.g. 'dcgan*'."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Which models suit WGAN-GP / WGAN-LP: their critics must not use BatchNorm."""
        names = ganzoo.list_models(pattern)
        if not names:
            typer.echo(f"ganzoo: error: no model matches {pattern!r}; see 'ganzoo list'", err=True)
            raise typer.Exit(1)
        rows = []
        for name in names:
            spec = ganzoo.get_model_spec(name)
            norms = _batch_norm_layers(name)
            rows.append(
                {
                    "model": name,
                    "default_loss": spec.default_loss,
                    "critic_batch_norm": norms,
                    "wasserstein_ready": not norms,
                }
            )
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for row in rows:
            if row["wasserstein_ready"]:
                verdict = "ready: no BatchNorm in the critic; try --loss " + " or --loss ".join(WASSERSTEIN)
            else:
                verdict = f"not ready: BatchNorm in the critic ({', '.join(row['critic_batch_norm'])})"
            typer.echo(f"{row['model']:<16} default loss {row['default_loss']:<15} {verdict}")
