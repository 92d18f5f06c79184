"""The export folder ``ganzoo train`` writes and ``ganzoo.load`` reads, and the zoo's generator-only files.

An export is a folder in the huggingface_hub shape::

    model.safetensors   "generator.<key>", "discriminator.<key>" and, for runs with ``--ema``, the generator's
                        moving average "generator_ema.<key>" tensors (float32), with metadata
                        {"format": "ganzoo", "ganzoo_version", "model", "config": json}
    config.json         everything needed to rebuild the networks and what trained them
    README.md           the model card
    samples.png         the final fixed-noise sample grid
    progress.gif        the fixed-noise grids during training, animated (exports of runs that saved grids)

Tensors are written with safetensors (nothing is pickled, so reading never runs code) and
every file goes through :mod:`ganzoo.io.files` (a temporary file, fsync and a rename), so an
interrupted export never leaves a half-written file behind a valid name.

``config.json`` is made in one place, :func:`export_config`, read by :func:`read_config`
and changed only through this module (:func:`record_evaluation` for ``ganzoo eval
--write-card``), so its fields and their checks cannot drift apart between writers. An export
may be someone else's: :func:`read_config` reads it through :mod:`ganzoo.io.untrusted` (bounded in
size and depth, the types of :data:`CONFIG_FIELDS` checked), :func:`read_card` the card, and
:func:`read_export` memory-maps the weights instead of reading them whole.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .._version import __version__
from ..errors import ConfigError, WeightsError
from ..io.files import jsonable, make_folder, write_atomic, write_bytes, write_text
from ..io.untrusted import MAX_JSON_BYTES, Field, check_fields, parse_json, read_text

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..registry.records import ModelSpec

__all__ = [
    "CARD_NAME",
    "CONFIG_FIELDS",
    "CONFIG_NAME",
    "EXPORT_FILES",
    "EXPORT_FORMAT",
    "EXPORT_FORMAT_VERSION",
    "MOVING_AVERAGE_MARK",
    "PROGRESS_NAME",
    "SAMPLES_NAME",
    "WEIGHTS_NAME",
    "export_config",
    "export_file",
    "export_files",
    "read_card",
    "read_config",
    "read_export",
    "record_evaluation",
    "record_truncation",
    "weights_metadata",
    "write_config",
    "write_export",
    "write_generator_weights",
]

MOVING_AVERAGE_MARK = "ganzoo_moving_average"
"""The attribute ``ganzoo.load`` sets on the generator it returns: True when its weights are the moving
average, False when they are the trained ones. :func:`write_generator_weights` reads it, so a generator
written back to a file keeps what it is."""

EXPORT_FORMAT = "ganzoo-export"
EXPORT_FORMAT_VERSION = 1
WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
CARD_NAME = "README.md"
SAMPLES_NAME = "samples.png"
PROGRESS_NAME = "progress.gif"
EXPORT_FILES = (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME, SAMPLES_NAME, PROGRESS_NAME)
"""Every file an export folder may hold, in the order the module's docstring describes them."""

CONFIG_FIELDS = {
    "format": Field("string", required=True),
    "format_version": Field("integer"),
    "ganzoo_version": Field("string", nullable=True),
    "model": Field("string", required=True),
    "config": Field("mapping", nullable=True),
    "dataset": Field("string", nullable=True),
    "loss": Field("string", nullable=True),
    "latent_dim": Field("integer", nullable=True),
    "num_classes": Field("integer", nullable=True),
    "sample_shape": Field("list", nullable=True),
    "training": Field("mapping", nullable=True),
    "metrics": Field("mapping", nullable=True),
    "evaluation": Field("mapping", nullable=True),
    "truncation": Field("mapping", nullable=True),
    "generator_only": Field("boolean"),
}
"""The fields of ``config.json`` that ganzoo reads, and what each must be (others are kept as they are)."""


def strict_json(value: Any, *, what: str, **options: Any) -> str:
    """``value`` (made :func:`jsonable`) as JSON text that every JSON reader accepts.

    Python's ``json`` writes ``inf`` and ``nan`` as ``Infinity`` and ``NaN``, which are not JSON: a
    file with them is refused by other readers (the Hub's, a browser's) or read back as something
    else. Such a number is refused here, before anything is written, naming where it sits in ``what``.
    """
    plain = jsonable(value)
    where = _non_finite(plain, "")
    if where is not None:
        raise ConfigError(f"{what} would hold {where[1]} at {where[0] or 'its top'}, which is not JSON; "
                          "nothing was written (give a finite number there)")
    return json.dumps(plain, allow_nan=False, **options)


def _non_finite(value: Any, path: str) -> tuple[str, float] | None:
    """The first ``(path, number)`` in ``value`` that is an infinite or NaN float, else None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _non_finite(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _tensors(prefix: str, module: torch.nn.Module, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """``module``'s state as contiguous CPU tensors under ``prefix.``; floats cast to ``dtype`` if given."""
    tensors = {}
    for key, tensor in module.state_dict().items():
        tensor = tensor.detach()
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        tensors[f"{prefix}.{key}"] = tensor.cpu().contiguous().clone()
    return tensors


def weights_metadata(model: str, config: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The safetensors header every ganzoo weights file carries (string values only, by the format)."""
    metadata = {
        "format": "ganzoo",
        "ganzoo_version": __version__,
        "model": model,
        "config": strict_json(config, what="the weights' config", sort_keys=True),
    }
    for key, value in (extra or {}).items():
        metadata[str(key)] = value if isinstance(value, str) else strict_json(
            value, what=f"the weights' {key}", sort_keys=True)
    return metadata


def canonicalize_safetensors_header(path: Path) -> None:
    """Rewrite the JSON header of a safetensors file with sorted keys, in place.

    The safetensors writer orders header entries as a hash map happens to iterate, so the
    same tensors and metadata give different bytes, and a different sha256, on each save.
    Sorted, the same weights always give the same file: a published hash can be
    reproduced, and re-exporting unchanged weights changes nothing.
    """
    with path.open("r+b") as file:
        size = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(size))
        text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        if len(text) > size:  # cannot happen for a header safetensors wrote; keep the file as it is
            return
        file.seek(8)
        file.write(text + b" " * (size - len(text)))  # the format pads its header with spaces


def _save_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    from safetensors.torch import save_file

    def write(file: BinaryIO) -> None:
        save_file(tensors, file.name, metadata=metadata)
        canonicalize_safetensors_header(Path(file.name))

    size = sum(tensor.numel() * tensor.element_size() for tensor in tensors.values())
    return write_atomic(path, write, size=size)


def write_export(
    folder: str | os.PathLike[str],
    *,
    spec: ModelSpec,
    config: Mapping[str, Any],
    generator: torch.nn.Module,
    discriminator: torch.nn.Module,
    training: Mapping[str, Any],
    generator_ema: torch.nn.Module | None = None,
    metrics: Mapping[str, Any],
    card: str,
    samples_png: str | os.PathLike[str] | None = None,
    dataset: str = "",
    loss: str = "",
    progress_gif: str | os.PathLike[str] | None = None,
) -> Path:
    """Write an export folder (weights, config, card, sample grid, progress animation) and return its path."""
    import torch

    from ..registry.catalog import reference_name

    model = reference_name(spec)  # PLUGIN:NAME when another plugin's model holds the name: loading finds this one
    document = export_config(
        model=model,
        config=config,
        dataset=dataset,
        loss=loss,
        latent_dim=int(generator.latent_dim),
        num_classes=getattr(generator, "num_classes", None),
        sample_shape=generator.sample_shape,
        training=training,
        metrics=metrics,
    )
    text, metadata = config_text(document), weights_metadata(model, config)  # refused before any write
    folder = make_folder(folder, what="the export folder")
    tensors = _tensors("generator", generator, torch.float32)
    if generator_ema is not None:
        tensors.update(_tensors("generator_ema", generator_ema, torch.float32))
    tensors.update(_tensors("discriminator", discriminator, torch.float32))
    _save_safetensors(folder / WEIGHTS_NAME, tensors, metadata)
    write_text(folder / CONFIG_NAME, text)
    write_text(folder / CARD_NAME, card)
    if samples_png is not None and Path(samples_png).resolve() != (folder / SAMPLES_NAME).resolve():
        write_bytes(folder / SAMPLES_NAME, Path(samples_png).read_bytes())
    if progress_gif is not None:
        write_bytes(folder / PROGRESS_NAME, Path(progress_gif).read_bytes())
    return folder


def export_config(
    *,
    model: str,
    config: Mapping[str, Any],
    latent_dim: int,
    num_classes: int | None,
    sample_shape: Any,
    dataset: str = "",
    loss: str = "",
    training: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    generator_only: bool = False,
) -> dict[str, Any]:
    """The ``config.json`` document of an export: what rebuilds the generator and what trained it.

    ``generator_only`` marks a folder without discriminator tensors (``ganzoo.save`` of a
    loaded generator).
    """
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "ganzoo_version": __version__,
        "model": model,
        "config": jsonable(config),
        "dataset": dataset,
        "loss": loss,
        "latent_dim": int(latent_dim),
        "num_classes": None if num_classes is None else int(num_classes),
        "sample_shape": [int(s) for s in sample_shape],
        "training": jsonable(training or {}),
        "metrics": jsonable(metrics or {}),
    }
    if generator_only:
        document["generator_only"] = True
    return document


def config_text(document: Mapping[str, Any]) -> str:
    """The text of ``config.json`` for ``document``; a number that is not finite is refused (:func:`strict_json`)."""
    return strict_json(document, what=CONFIG_NAME, indent=2, sort_keys=False, default=str) + "\n"


def write_config(folder: str | os.PathLike[str], document: Mapping[str, Any]) -> Path:
    """Write ``document`` (from :func:`export_config`, maybe edited) as the folder's ``config.json``."""
    return write_text(Path(folder) / CONFIG_NAME, config_text(document))


def export_file(folder: str | os.PathLike[str], name: str) -> Path:
    """``folder/name``, checked by the folder guard (:class:`~ganzoo.io.folderguard.FolderGuard`): an export
    folder is often someone else's (downloaded, unpacked, copied), and a link in it that leads out of it
    must not make ganzoo read, publish or rewrite a file elsewhere. One line naming the link otherwise."""
    from ..io.folderguard import FolderGuard

    return FolderGuard(folder, what="export folder").path(name)


def export_files(folder: str | os.PathLike[str]) -> list[str]:
    """The :data:`EXPORT_FILES` that ``folder`` holds, in their order: what a summary of the export lists, read
    from the folder rather than from a list that could forget one (``progress.gif`` is written only by runs
    that saved sample grids)."""
    return [name for name in EXPORT_FILES if export_file(folder, name).is_file()]


def read_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config.json`` of an export folder, checked to be a ganzoo export this version reads.

    Read as untrusted text (:mod:`ganzoo.io.untrusted`): at most :data:`~ganzoo.io.untrusted.MAX_JSON_BYTES`,
    nested no deeper than :data:`~ganzoo.io.untrusted.MAX_DEPTH`, and the fields of :data:`CONFIG_FIELDS`
    of their declared types; anything else is one ``WeightsError`` line naming the file and the field.
    """
    folder = Path(folder)
    config_path = export_file(folder, CONFIG_NAME)
    if not config_path.is_file():
        raise WeightsError(f"{folder} is not a ganzoo export folder: {CONFIG_NAME} is missing")
    source = str(config_path)
    text = read_text(config_path, limit=MAX_JSON_BYTES, error=WeightsError)
    document = parse_json(text, source=source, error=WeightsError)
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise WeightsError(f"{config_path} is not a ganzoo export config (format {EXPORT_FORMAT!r} expected)")
    check_fields(document, CONFIG_FIELDS, source=source, error=WeightsError,
                 fix="it is not a config.json that ganzoo wrote; correct it or export the run again")
    if document.get("format_version", 0) > EXPORT_FORMAT_VERSION:
        raise WeightsError(
            f"{folder} has export format version {document.get('format_version')}; this ganzoo reads up to "
            f"{EXPORT_FORMAT_VERSION}: upgrade ganzoo"
        )
    return document


def read_card(folder: str | os.PathLike[str]) -> str | None:
    """The model card of an export folder, its front matter checked (:func:`.frontmatter.parse_front_matter`);
    None when the folder has none. Call it before the work whose result goes into the card."""
    from .frontmatter import parse_front_matter, read_card_text

    card_path = export_file(folder, CARD_NAME)
    if not card_path.is_file():
        return None
    text = read_card_text(card_path)
    parse_front_matter(text, source=str(card_path))
    return text


def record_evaluation(
    folder: str | os.PathLike[str],
    *,
    metrics: Mapping[str, Any],
    protocol: Mapping[str, Any],
    protocol_text: str,
) -> Path:
    """Record measured ``metrics`` in an export folder: ``config.json`` and, when there is one, the card.

    ``config.json`` gains the metrics (merged over those it has) and ``"evaluation"``: the
    protocol record and its text. The card's front matter and "Evaluation" section follow
    (:func:`ganzoo.cards.card.update_card_metrics`); a card that cannot be read is an error
    before anything is written.
    """
    from .card import update_card_metrics

    folder = Path(folder)
    document = read_config(folder)
    card_path = export_file(folder, CARD_NAME)
    text = read_card(folder)
    card = None if text is None else update_card_metrics(text, metrics, protocol_text, source=str(card_path),
                                                            protocol=protocol)
    document["metrics"] = {**dict(document.get("metrics") or {}), **jsonable(metrics)}
    document["evaluation"] = {"protocol": jsonable(protocol), "protocol_text": protocol_text}
    write_config(folder, document)
    if card is not None:
        write_text(card_path, card)
    return folder


def record_truncation(folder: str | os.PathLike[str], *, truncation: float, metrics: Mapping[str, Any]) -> Path:
    """Record a truncated evaluation: ``config.json``'s ``"truncation"`` table and the card's section for it
    (:mod:`ganzoo.cards.card`); the untruncated metrics are left as they are."""
    from .card import TRADEOFF_METRICS, update_card_truncation

    folder = Path(folder)
    document = read_config(folder)
    sweep = dict(document.get("truncation") or {})
    sweep[f"{truncation:g}"] = {k: v for k, v in jsonable(metrics).items() if k in TRADEOFF_METRICS}
    document["truncation"] = sweep
    text = read_card(folder)
    card = None
    if text is not None:
        untruncated = {k: v for k, v in (document.get("metrics") or {}).items() if k in TRADEOFF_METRICS}
        card = update_card_truncation(text, sweep, untruncated)
    write_config(folder, document)
    if card is not None:
        write_text(export_file(folder, CARD_NAME), card)
    return folder


def read_export(
    folder: str | os.PathLike[str], *, ema: bool = True
) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(config.json as a dict, generator state dict, discriminator state dict)`` of an export folder.

    The generator's state is its moving average where the export has one, unless ``ema=False``
    (see :func:`ganzoo.cards.weights.generator_state`). The tensors are read from the memory-mapped file
    (:func:`ganzoo.cards.weights.read_tensors`), never from a copy of it.
    """
    from .weights import generator_state, read_header, read_tensors

    folder = Path(folder)
    weights_path = export_file(folder, WEIGHTS_NAME)
    document = read_config(folder)
    if not weights_path.is_file():
        raise WeightsError(f"{folder} is not a ganzoo export folder: {weights_path.name} is missing")
    header = read_header(weights_path, str(weights_path))
    tensors = read_tensors(weights_path, str(weights_path), header.shapes)
    generator = generator_state(tensors, str(weights_path), ema=ema)
    discriminator = {k.partition(".")[2]: v for k, v in tensors.items() if k.startswith("discriminator.")}
    return document, generator, discriminator


def write_generator_weights(
    path: str | os.PathLike[str],
    generator: torch.nn.Module,
    *,
    model: str,
    config: Mapping[str, Any],
    dtype: torch.dtype | None = None,
    metadata: Mapping[str, Any] | None = None,
    ema: bool | None = None,
) -> Path:
    """Write a generator-only weights file (the zoo's shipped format; ``dtype`` float16 halves it).

    ``ema=True`` says that ``generator`` is a moving average: its tensors are named ``generator_ema.*``.
    Left out, it is what ``ganzoo.load`` marked the module as (:data:`MOVING_AVERAGE_MARK`: the average of
    an export trained with ``--ema``, the default for images), else False; given against that mark, it is
    refused, because a moving average stored as trained weights (or the reverse) misdescribes the file.
    """
    import torch

    marked = getattr(generator, MOVING_AVERAGE_MARK, None)
    if ema is None:
        ema = bool(marked)
    elif marked is not None and bool(marked) != bool(ema):
        what = "its moving average" if marked else "its trained weights"
        raise ConfigError(f"write_generator_weights: ema={ema}, but ganzoo.load gave this generator as {what}; "
                          f"pass ema={bool(marked)} (the loaded model's .ema) or leave ema out")

    tensors = _tensors("generator_ema" if ema else "generator", generator, dtype or torch.float32)
    extra = dict(metadata or {})
    extra.setdefault("dtype", str(dtype or torch.float32).replace("torch.", ""))
    return _save_safetensors(Path(path), tensors, weights_metadata(model, config, extra))
