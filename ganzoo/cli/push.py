"""``ganzoo push EXPORT_DIR OWNER/REPO [--private] [--revision BRANCH]``: an export folder onto the Hugging Face Hub.

The folder is checked before anything is sent (:func:`ganzoo.models.huggingface.check_export`), then
uploaded with ``HfApi.upload_folder`` (:func:`ganzoo.models.huggingface.push_export`); the token comes from
where huggingface_hub keeps it and is never printed. huggingface_hub is imported only when the
command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .common import user_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``ganzoo push`` to ``app``."""

    @app.command("push")
    @user_errors
    def push(
        folder: Path = typer.Argument(..., metavar="EXPORT_DIR", help="An export folder (ganzoo train's OUT/export)."),
        repo_id: str = typer.Argument(..., metavar="OWNER/REPO", help="The Hub model repository (made if missing)."),
        private: bool = typer.Option(False, "--private", help="Make the repository private when it is created."),
        revision: str | None = typer.Option(
            None, "--revision", help="The branch to commit to (made from the default branch if missing)."
        ),
    ) -> None:
        """Upload an export folder (model.safetensors, config.json, README.md, samples.png, progress.gif) to the
        Hugging Face Hub, where ganzoo.load("hf://OWNER/REPO") and 'ganzoo sample hf://OWNER/REPO' load it.
        Needs the extra (pip install "ganzoo\\[hub]") and a token with write access ('hf auth login' or HF_TOKEN).

        Example:
          ganzoo push runs/mnist/export you/dcgan-mnist
        """
        from ..models.huggingface import push_export

        url = push_export(folder, repo_id, private=private, revision=revision)
        where = f"hf://{repo_id}" + (f"@{revision}" if revision else "")
        typer.echo(f"pushed {folder} to {where}: {url}")
