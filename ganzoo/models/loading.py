"""``ganzoo.load``: a pretrained generator from a registry name, a URL or a path.

:func:`parse_source` tells the three kinds of source apart (the rules are in
:mod:`ganzoo.models`); each ends the same way, in :func:`_from_file`: the configuration
assembled by :func:`ganzoo.models.model_config.assemble_config` from every party that states it
(the file's own record read by :func:`metadata_config`, bounded like all untrusted text),
the generator that configuration gives built first on the meta device, where it costs no
memory, so that the file's tensor shapes are compared with it before anything is allocated,
then built for real, and the file's generator tensors, and only those, read into it from the
memory-mapped file.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from ..cards.weights import (
    check_generator_shapes,
    check_sha256,
    download_file,
    fetch_weights,
    file_sha256,
    generator_state,
    load_generator_state,
    read_header,
    read_tensors,
    sha256_hex,
    takes_average,
)
from ..errors import ConfigError, UnknownNameError, WeightsError, redact
from ..io.paths import cache_dir as default_cache_dir
from ..io.untrusted import parse_json
from ..registry.catalog import get_registry, split_weights_name
from ..registry.records import ModelSpec, WeightsSpec
from .creating import build_network
from .model_config import assemble_config
from .sampling import PretrainedGenerator

__all__ = ["Source", "load", "metadata_config", "parse_source", "path_source"]

_URL = re.compile(r"^(https?|file)://", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """What ``load`` was asked for, decided from the spelling of the argument alone."""

    kind: Literal["name", "url", "path", "hf"]
    value: str


def parse_source(source: str | os.PathLike[str]) -> Source:
    """Classify ``source`` as a registry name, a URL or a path (the rules are in :mod:`ganzoo.models`)."""
    if isinstance(source, os.PathLike):
        return Source("path", os.fspath(source))
    if not isinstance(source, str):
        raise ConfigError(f"a model source is a name, a URL or a path, got {type(source).__name__} {source!r}")
    text = source.strip()
    if not text:
        raise ConfigError("empty model source: give a model name such as 'dcgan-mnist', a URL or a path")
    if text.startswith("path:"):
        if not text[len("path:") :]:
            raise ConfigError("'path:' needs a path after it, e.g. 'path:runs/mnist/export'")
        return Source("path", text[len("path:") :])
    if _URL.match(text):
        return Source("url", text)
    if text.lower().startswith("hf://"):  # a Hugging Face Hub repository: ganzoo.models.huggingface
        return Source("hf", text)
    if _SCHEME.match(text):
        raise ConfigError(f"unsupported URL scheme in {redact(repr(text))}: use http://, https://, file:// or hf://")
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    if any(separator in text for separator in separators) or text.startswith((".", "~")):
        return Source("path", text)
    return Source("name", text)


def path_source(path: str | os.PathLike[str]) -> str:
    """``path`` spelled so that :func:`parse_source` reads it as a path: as it is when its spelling says so
    already (``runs/ring/export``, ``./x``, ``/abs/x``), else ``./NAME``, since a bare ``ring-lightning``
    is a zoo name. Cards, summaries and messages that tell a user how to load a folder use it, so the
    command they show is one that works."""
    text = os.fspath(path)
    if parse_source(text) == Source("path", text):
        return text
    return f".{os.sep}{text}"


def load(
    source: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    sha256: str | None = None,
    ema: bool = True,
) -> PretrainedGenerator:
    """A pretrained generator in eval mode, ready to sample, from a zoo name, a URL or a path.

    Weights trained with a moving average of the generator (``ganzoo train --ema``) are loaded as
    that average, the better sampler; ``ema=False`` loads the trained weights instead (an export
    has both; the zoo's files ship the average only). ``loaded.ema`` says which it is.

    ``source`` is read by its spelling alone, never by what happens to be on disk:

    * ``pathlib.Path``, ``"path:..."``, or a string containing ``/`` (or the OS separator)
      or starting with ``.`` or ``~``: a local export folder (``OUT/export``, or a
      training output ``OUT`` that holds ``export/``) or one ganzoo ``.safetensors`` file;
    * ``hf://OWNER/REPO[@REVISION]``: an export folder in a Hugging Face Hub repository,
      downloaded into the cache and checked against the Hub's LFS sha256 (:mod:`ganzoo.models.huggingface`;
      needs ``ganzoo[hub]``);
    * ``http://``, ``https://`` or ``file://``: the URL of a ganzoo ``.safetensors`` file
      (a ``file://`` URL may also name an export folder). It is hash-checked when
      ``sha256=`` (or a ``#sha256=<hex>`` fragment) is given, or when it is the URL of
      a registry entry (against that entry's hash);
    * any other string: a registry name, ``"dcgan-mnist"`` (its default weights) or
      ``"dcgan-mnist.mnist"`` (weights tag ``mnist``). ``"mlp-gan"`` is always the model,
      even when a folder ``mlp-gan`` exists here; load that folder as ``"./mlp-gan"``.

    Registry weights are taken from the installed package, else the cache directory
    (``cache_dir``, else ``$GANZOO_CACHE_DIR``, else ``~/.cache/ganzoo/weights``), else
    downloaded (unless ``download=False``), and every file's sha256 is checked before use.
    Only safetensors files are read: nothing is unpickled.

    >>> g = ganzoo.load("dcgan-mnist")                        # doctest: +SKIP
    >>> g.sample(16, seed=0).shape                            # doctest: +SKIP
    torch.Size([16, 1, 28, 28])
    """
    parsed = parse_source(source)
    if parsed.kind == "hf":  # downloaded (or cached) and hash-checked, then loaded as the export folder it is
        from .huggingface import fetch_export

        parsed = Source("path", os.fspath(fetch_export(parsed.value, cache_dir=cache_dir, download=download)))
    if parsed.kind == "name":
        loaded = _load_registry(parsed.value, cache_dir=cache_dir, download=download, ema=ema)
    elif parsed.kind == "url":
        loaded = _load_url(parsed.value, cache_dir=cache_dir, download=download, sha256=sha256, ema=ema)
    else:
        loaded = _load_path(Path(parsed.value).expanduser(), sha256=sha256, ema=ema)
    loaded.to(device)
    return loaded


def _load_registry(name: str, *, cache_dir: Any, download: bool, ema: bool = True) -> PretrainedGenerator:
    models = get_registry().models
    model, tag = split_weights_name(name)
    spec = models.find(model)  # a bare name, or PLUGIN:NAME for a model whose name another plugin holds
    if spec is None:
        failure = UnknownNameError("model", model, models.records)
        if Path(name).exists():
            failure.args = (
                f"{failure.args[0]} A file or folder {name!r} exists here: load it as './{name}' or 'path:{name}'.",
            )
        raise failure
    if not spec.weights:
        raise WeightsError(
            f"model {spec.name!r} has no pretrained weights yet: ganzoo.create({spec.name!r}) builds an untrained "
            f"one and 'ganzoo train {spec.name}' trains it"
        )
    weights = spec.get_weights(tag)
    with fetch_weights(spec, weights, cache_dir=cache_dir, download=download) as (path, origin):
        return _from_file(path, origin, spec=spec, weights=weights, ema=ema)


def _registry_spec(model: Any, origin: str) -> ModelSpec:
    models = get_registry().models
    spec = models.find(model) if isinstance(model, str) else None
    if spec is None:
        failure = UnknownNameError("model", str(model), models.records)
        raise WeightsError(f"{origin} holds model {model!r}, which no installed plugin provides ({failure})")
    return spec


def _from_file(
    path: Path,
    origin: str,
    *,
    spec: ModelSpec | None = None,
    weights: WeightsSpec | None = None,
    ema: bool = True,
    sources: Sequence[tuple[str, Mapping[str, Any]]] = (),
    card_file: Path | None = None,
    metadata: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> PretrainedGenerator:
    """Build the generator the registry (or the file's metadata) names and load the file at ``path`` into it.

    The configuration is the spec's defaults with ``sources`` (an export's ``config.json``), the
    file's own record of its configuration and the registry's weights record (where there is
    one), which must agree (:func:`ganzoo.models.model_config.assemble_config`). The file's generator
    shapes are checked against that configuration's model on the meta device before the model is
    built and before any tensor is read.
    """
    header = read_header(path, origin)
    model_name = header.metadata.get("model")
    if spec is None:
        if not model_name:
            raise WeightsError(f"{origin} does not say which model it holds (no 'model' in its metadata)")
        spec = _registry_spec(model_name, origin)
    elif model_name and model_name != spec.name:
        raise WeightsError(f"{origin} holds model {model_name!r}, not {spec.name!r}")
    sources = [*sources, (f"the metadata of {origin}", metadata_config(header.metadata, origin))]
    if weights is not None:
        sources.append((f"the registry record of '{spec.name}.{weights.tag}'", weights.config))
    config = assemble_config(spec, sources=sources)
    name = f"{spec.name}.{weights.tag}" if weights is not None else spec.name
    shapes = generator_state(header.shapes, origin, ema=ema)
    check_generator_shapes(_generator_shapes(spec, config), shapes, origin)  # before anything is allocated
    generator = _build_for_loading(spec, config)
    prefix = "generator_ema." if takes_average(header.shapes, ema) else "generator."
    tensors = read_tensors(path, origin, [prefix + key for key in shapes])
    load_generator_state(generator, {key[len(prefix) :]: value for key, value in tensors.items()}, origin)
    return PretrainedGenerator(
        generator, spec=spec, config=config, name=name, weights=weights, source=source or origin,
        metadata=header.metadata if metadata is None else metadata, ema=takes_average(header.shapes, ema),
        card_file=card_file,
    )


def metadata_config(metadata: Mapping[str, str], origin: str) -> dict[str, Any]:
    """The model configuration a weights file records in its safetensors metadata (none: empty), read as
    untrusted JSON (:func:`ganzoo.io.untrusted.parse_json`: bounded in size and depth) that must be an object."""
    if "config" not in metadata:
        return {}
    source = f"the model configuration in the metadata of {origin}"
    config = parse_json(metadata["config"], source=source, error=WeightsError)
    if not isinstance(config, dict):
        raise WeightsError(f"{source} is not a JSON object")
    return config


def _generator_shapes(spec: ModelSpec, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor of the generator ``config`` gives, from a build on the meta device: no memory
    is allocated, however large the configuration asks it to be."""
    with torch.device("meta"):
        module = build_network(spec, spec.generator, config, "generator")
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def _build_for_loading(spec: ModelSpec, config: Mapping[str, Any]) -> nn.Module:
    with torch.random.fork_rng(devices=[]):  # the initial values are overwritten; keep the caller's RNG as it was
        return build_network(spec, spec.generator, config, "generator")


def _load_url(url: str, *, cache_dir: Any, download: bool, sha256: str | None, ema: bool = True) -> PretrainedGenerator:
    parts = urllib.parse.urlsplit(url)
    fragment = urllib.parse.parse_qs(parts.fragment)
    expected = sha256_hex(sha256 if sha256 is not None else (fragment.get("sha256") or [None])[0])
    plain = urllib.parse.urlunsplit(parts._replace(fragment=""))
    if parts.scheme.lower() == "file":
        return _load_path(Path(urllib.request.url2pathname(parts.path)), sha256=expected, ema=ema)
    for spec in get_registry().models.records.values():
        for weights in spec.weights:
            if weights.url == plain:
                if expected is not None and expected != weights.sha256:
                    raise WeightsError(
                        f"{redact(plain)} is the URL of '{spec.name}.{weights.tag}', whose sha256 is {weights.sha256}, "
                        f"not {expected}"
                    )
                with fetch_weights(spec, weights, cache_dir=cache_dir, download=download) as (path, origin):
                    return _from_file(path, origin, spec=spec, weights=weights, ema=ema)
    key = hashlib.sha256(plain.encode()).hexdigest()[:16]
    cached = default_cache_dir(cache_dir) / "urls" / f"{key}-{Path(parts.path).name or 'weights.safetensors'}"
    if cached.is_file():
        if expected is None or file_sha256(cached) == expected:
            return _from_file(cached, str(cached), ema=ema)
        cached.unlink()
    if not download:
        raise WeightsError(f"{redact(plain)} is not in the cache ({cached}) and downloading is off")
    download_file(plain, cached, expected, "the weights")  # download_file names the URL itself
    return _from_file(cached, str(cached), ema=ema)


def _export_folder(path: Path) -> Path:
    from ..cards.folder import CONFIG_NAME

    if (path / CONFIG_NAME).is_file():
        return path
    if (path / "export" / CONFIG_NAME).is_file():
        return path / "export"
    raise WeightsError(
        f"{path} is not an export folder: it has no {CONFIG_NAME} (nor export/{CONFIG_NAME}); "
        "'ganzoo train' writes OUT/export when a run ends"
    )


def _load_path(path: Path, *, sha256: str | None = None, ema: bool = True) -> PretrainedGenerator:
    from ..cards.folder import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, export_file, read_config

    if not path.exists():
        raise WeightsError(f"no such file or folder: {path}")
    if path.is_file():
        check_sha256(path, sha256, str(path))
        return _from_file(path, str(path), ema=ema)
    folder = _export_folder(path)
    weights_file = export_file(folder, WEIGHTS_NAME)
    document = read_config(folder)
    if not weights_file.is_file():
        raise WeightsError(f"{folder} is not a ganzoo export folder: {weights_file.name} is missing")
    check_sha256(weights_file, sha256, str(weights_file))
    spec = _registry_spec(document.get("model"), str(folder))
    return _from_file(
        weights_file, str(weights_file), spec=spec, ema=ema,
        sources=[(f"{folder / CONFIG_NAME}", document.get("config") or {})],
        card_file=export_file(folder, CARD_NAME),  # read when asked for: sampling never needs it
        metadata={k: v for k, v in document.items() if k not in ("config",)}, source=str(folder),
    )
