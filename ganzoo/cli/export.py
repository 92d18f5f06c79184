"""``ganzoo export MODEL_OR_PATH --format onnx|torchscript -o FILE``: a deployable generator file, checked.

The generator is loaded as ``ganzoo sample`` loads it (``ganzoo.load``'s rules), written by
:func:`ganzoo.deploy.export_generator`, run the way a user runs the file and compared with the
eager generator before it is kept. torch (and onnx) are imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .common import complete_model, user_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``ganzoo export`` to ``app``."""

    @app.command("export")
    @user_errors
    def export(
        source: str = typer.Argument(
            ...,
            metavar="MODEL_OR_PATH",
            help="A zoo name (dcgan-mnist), an export folder (./run/export), a URL or hf://OWNER/REPO.",
            autocompletion=complete_model,
        ),
        format: str = typer.Option(
            "onnx", "--format", "-f", help="onnx (needs ganzoo\\[onnx]) or torchscript."
        ),
        output: Path = typer.Option(..., "-o", "--output", help="The file to write, e.g. dcgan-mnist.onnx."),
        cache_dir: Path | None = typer.Option(
            None, "--cache-dir", help="Where downloaded weights are kept (default: $GANZOO_CACHE_DIR)."
        ),
        offline: bool = typer.Option(False, "--offline", help="Never download: use packaged or cached weights."),
    ) -> None:
        """Export a generator to ONNX or TorchScript: input z (N, latent_dim) with any batch N, plus labels (N,)
        int64 for a conditional model; output the samples, images in [-1, 1]. The file is run (onnxruntime,
        torch.jit.load) on fixed latents and compared with the generator; a difference over 1e-4 is an error
        and nothing is written. ONNX needs the extra: pip install "ganzoo\\[onnx]".

        Examples:
          ganzoo export dcgan-mnist -o dcgan-mnist.onnx
          ganzoo export cgan-mnist --format torchscript -o cgan.pt
          ganzoo export ./runs/faces/export -o faces.onnx
        """
        from ..deploy import check_format, export_generator

        kind = check_format(format)
        report = export_generator(source, output, format=kind, cache_dir=cache_dir, download=not offline)
        metadata = report.metadata
        inputs = "z" + (", labels" if metadata["num_classes"] != "null" else "")
        typer.echo(
            f"wrote {report.path} ({kind}, {metadata['name']}, inputs {inputs}): matches the generator within "
            f"{report.max_abs_diff:.2g} on batches of {' and '.join(str(n) for n in report.batches)}"
        )
