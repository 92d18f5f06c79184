"""Generators out of ganzoo: ONNX and TorchScript files that run without ganzoo, checked before they are kept.

``export_generator(source, "g.onnx", format="onnx")`` loads the generator exactly as
``ganzoo.load(source)`` does (a zoo name, an export folder, a file, a URL, ``hf://``), so
the weights in the file are the ones ``load`` gives (an export's EMA weights where it has
them). The file takes ``z`` ``(N, latent_dim)`` float32 with any batch ``N``, and for a
conditional model ``labels`` ``(N,)`` int64, and returns the samples ``(N, *sample_shape)``
(images in ``[-1, 1]``). Before the file is put in place it is run the way a user runs it
(onnxruntime; ``torch.jit.load``) on fixed latents, at other batch sizes than the one it
was recorded with, and compared with the eager generator: a difference over
:data:`~ganzoo.deploy.graph.TOLERANCE` is an :class:`~ganzoo.errors.ExportError` and
nothing is written. ganzoo's facts about the model travel inside the file
(:func:`deploy_metadata`, read back by :func:`read_metadata`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import ConfigError

__all__ = ["FORMATS", "ExportReport", "check_format", "deploy_metadata", "export_generator", "read_metadata"]

FORMATS = ("onnx", "torchscript")


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_generator` wrote and how closely the file matched the generator."""

    path: Path
    format: str
    max_abs_diff: float
    batches: tuple[int, ...]
    metadata: dict[str, str] = field(default_factory=dict)


def check_format(format: str) -> str:
    """``format`` in lower case, or a ConfigError naming the formats there are."""
    name = str(format).strip().lower()
    if name not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
    return name


def _weights_sha256(model: Any) -> str:
    """The sha256 of the weights file the generator was loaded from; empty for one made in code."""
    weights = getattr(model, "weights", None)
    if weights is not None:
        return str(weights.sha256)
    from ..cards.folder import WEIGHTS_NAME

    source = getattr(model, "source", None)
    if not source:
        return ""
    path = Path(source)
    path = path / WEIGHTS_NAME if path.is_dir() else path
    if not path.is_file():
        return ""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def deploy_metadata(model: Any) -> dict[str, str]:
    """The facts an exported file carries (string values, as ONNX ``metadata_props`` require)."""
    spec = model.spec
    return {
        "format": "ganzoo-generator",
        "ganzoo_version": __version__,
        "model": spec.name if spec is not None else model.name,
        "name": model.name,
        "weights_sha256": _weights_sha256(model),
        "latent_dim": str(model.latent_dim),
        "num_classes": json.dumps(model.num_classes),
        "sample_shape": json.dumps(list(model.sample_shape)),
        "inputs": "z (N, latent_dim) float32" + (", labels (N,) int64" if model.num_classes else ""),
        "output": "samples (N, " + ", ".join(str(s) for s in model.sample_shape) + ") float32",
        "config": json.dumps(dict(model.config), sort_keys=True, default=str),
    }


def _model(source: Any, load_options: dict[str, Any]) -> Any:
    from ..models.sampling import Sampler

    if isinstance(source, Sampler):
        return source
    from ..models.loading import load

    return load(source, **load_options)


def export_generator(
    source: Any,
    path: str | os.PathLike[str],
    *,
    format: str = "onnx",
    **load_options: Any,
) -> ExportReport:
    """Write the generator of ``source`` to ``path`` as ``format`` (``onnx`` or ``torchscript``), checked.

    ``source`` is what ``ganzoo.load`` takes (``load_options`` such as ``cache_dir`` and
    ``download`` are passed on), or a model ``load`` or ``create`` returned. ``path`` is
    replaced only by a file that passed the check.
    """
    from ..io.files import check_output_file, write_atomic
    from . import graph

    format = check_format(format)
    if format == "onnx":
        from .onnx import require_onnx

        require_onnx()  # before any work (a download, say): a missing extra is said at once
    target = check_output_file(path, what="the exported file")
    model = _model(source, load_options)
    module = graph.graph_module(model)
    names = graph.input_names(model)
    metadata = deploy_metadata(model)
    what = repr(model.name)
    differences: list[float] = []

    def write(file: Any) -> None:
        example = graph.inputs(model, graph.EXAMPLE_BATCH, seed=graph.VERIFY_SEED + 1)
        if format == "onnx":
            from .onnx import run_onnx, write_onnx

            write_onnx(module, example, names, file.name, metadata, what=what)
            run = lambda batch: run_onnx(file.name, batch, names)  # noqa: E731
        else:
            from .torchscript import run_torchscript, write_torchscript

            write_torchscript(module, example, file.name, metadata, what=what)
            run = lambda batch: run_torchscript(file.name, batch)  # noqa: E731
        for n in graph.VERIFY_BATCHES:
            batch = graph.inputs(model, n)
            label = f"the {format} file of {what} (batch {n})"
            differences.append(graph.compare(graph.eager(module, batch), run(batch), what=label))

    write_atomic(target, write)
    return ExportReport(target, format, max(differences), graph.VERIFY_BATCHES, metadata)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """ganzoo's metadata in an exported file of either format (a TorchScript file is a zip archive)."""
    path = Path(path)
    with path.open("rb") as file:
        is_zip = file.read(4) == b"PK\x03\x04"
    if is_zip:
        from .torchscript import read_torchscript_metadata

        return read_torchscript_metadata(str(path))
    from .onnx import read_onnx_metadata

    return read_onnx_metadata(str(path))
