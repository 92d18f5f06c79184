"""The registry: every model, loss, dataset and feature extractor the installed plugins provide.

The registry is built once per process from the plugin manager (``get_registry``) and
queried with timm-style functions: ``list_models("dcgan*")`` filters with fnmatch and
sorts naturally; ``get_model_spec(name)`` raises an error that suggests the closest names.
Each hook is called plugin by plugin so that every record knows its plugin, a plugin that
raises inside a hook loses only its own records, and a second plugin registering a name
that is taken is refused by name instead of silently shadowing the first.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pluggy

from .callbackspec import CallbackSpec
from .errors import ConfigError, DuplicateNameError, UnknownNameError
from .plugins import PluginInfo, load_plugins, plugin_hook_callers, report_failure
from .specs import DatasetSpec, ExtractorSpec, LossSpec, ModelSpec

__all__ = [
    "Registry",
    "get_callback_spec",
    "get_dataset_spec",
    "get_extractor_spec",
    "get_loss_spec",
    "get_model_spec",
    "get_registry",
    "list_callbacks",
    "list_datasets",
    "list_extractors",
    "list_losses",
    "list_models",
    "reset_registry",
    "split_weights_name",
]

SpecT = TypeVar("SpecT", ModelSpec, LossSpec, DatasetSpec, ExtractorSpec, CallbackSpec)


def natural_key(name: str) -> list[Any]:
    """Sort ``gan2`` before ``gan10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@dataclass
class Table(Generic[SpecT]):
    """Records of one kind, keyed by name."""

    kind: str
    spec_type: type
    records: dict[str, SpecT] = field(default_factory=dict)

    def names(self, pattern: str | None = None) -> list[str]:
        names = self.records.keys()
        if pattern:
            names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        return sorted(names, key=natural_key)

    def get(self, name: str) -> SpecT:
        try:
            return self.records[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.records) from None


HOOKS = {
    "register_models": "models",
    "register_losses": "losses",
    "register_datasets": "datasets",
    "register_feature_extractors": "extractors",
    "register_callbacks": "callbacks",
}


class Registry:
    """Everything registered by the loaded plugins."""

    def __init__(self, manager: pluggy.PluginManager, plugins: list[PluginInfo]):
        self.manager = manager
        self.plugins = plugins
        self.models: Table[ModelSpec] = Table("model", ModelSpec)
        self.losses: Table[LossSpec] = Table("loss", LossSpec)
        self.datasets: Table[DatasetSpec] = Table("dataset", DatasetSpec)
        self.extractors: Table[ExtractorSpec] = Table("feature extractor", ExtractorSpec)
        self.callbacks: Table[CallbackSpec] = Table("callback", CallbackSpec)
        for hook_name, table_name in HOOKS.items():
            self._collect(hook_name, getattr(self, table_name))

    @classmethod
    def from_plugins(cls, **kwargs: Any) -> Registry:
        manager, plugins = load_plugins(**kwargs)
        return cls(manager, plugins)

    def plugin(self, name: str) -> PluginInfo:
        for info in self.plugins:
            if info.name == name:
                return info
        raise UnknownNameError("plugin", name, [p.name for p in self.plugins])

    def _collect(self, hook_name: str, table: Table[Any]) -> None:
        for info, caller in plugin_hook_callers(self.manager, self.plugins, hook_name):
            staged: list[Any] = []
            try:
                caller(register=_stager(table, info, staged))
                self._commit(table, info, staged)
            except Exception as error:
                report_failure(info, error, hook_name)
                self._drop_plugin_records(info.name)

    def _commit(self, table: Table[Any], info: PluginInfo, staged: list[Any]) -> None:
        for spec in staged:
            existing = table.records.get(spec.name)
            if existing is not None:
                raise DuplicateNameError(
                    f"{table.kind} {spec.name!r} is already registered by plugin {existing.plugin!r}; "
                    f"plugin {info.name!r} must use another name"
                )
        for spec in staged:
            table.records[spec.name] = spec

    def _drop_plugin_records(self, plugin_name: str) -> None:
        for table_name in HOOKS.values():
            table = getattr(self, table_name)
            for name in [n for n, spec in table.records.items() if spec.plugin == plugin_name]:
                del table.records[name]


def _stager(table: Table[Any], info: PluginInfo, staged: list[Any]) -> Callable[[Any], None]:
    def register(spec: Any) -> None:
        if not isinstance(spec, table.spec_type):
            raise ConfigError(
                f"register() in a {table.kind} hook takes a {table.spec_type.__name__}, "
                f"got {type(spec).__name__}"
            )
        if any(existing.name == spec.name for existing in staged):
            raise DuplicateNameError(f"{table.kind} {spec.name!r} is registered twice by plugin {info.name!r}")
        staged.append(dataclasses.replace(spec, plugin=info.name))

    return register


_lock = threading.Lock()
_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = Registry.from_plugins()
        return _registry


def reset_registry() -> None:
    """Forget the registry so the next query rediscovers plugins (after installing one, in tests)."""
    global _registry
    with _lock:
        _registry = None


def list_models(pattern: str | None = None) -> list[str]:
    """Names of the registered models, optionally filtered by an fnmatch ``pattern``, sorted."""
    return get_registry().models.names(pattern)


def split_weights_name(name: str) -> tuple[str, str | None]:
    """``"dcgan-mnist.mnist"`` -> ``("dcgan-mnist", "mnist")``; a plain name has no tag.

    Model names contain no ``.`` (checked when a ModelSpec is made), so the split is by
    spelling alone: everything after the first dot is the tag.
    """
    model, dot, tag = name.partition(".")
    return model, (tag if dot else None)


def get_model_spec(name: str) -> ModelSpec:
    """The spec of model ``name``; a weights tag (``name.tag``) must be one of the model's own."""
    model, tag = split_weights_name(name)
    spec = get_registry().models.get(model)
    if tag is not None:
        spec.get_weights(tag)  # an unknown tag is an error that lists the known ones
    return spec


def list_losses(pattern: str | None = None) -> list[str]:
    return get_registry().losses.names(pattern)


def get_loss_spec(name: str) -> LossSpec:
    return get_registry().losses.get(name)


def list_datasets(pattern: str | None = None) -> list[str]:
    return get_registry().datasets.names(pattern)


def get_dataset_spec(name: str) -> DatasetSpec:
    return get_registry().datasets.get(name)


def list_extractors(pattern: str | None = None) -> list[str]:
    return get_registry().extractors.names(pattern)


def get_extractor_spec(name: str) -> ExtractorSpec:
    return get_registry().extractors.get(name)


def list_callbacks(pattern: str | None = None) -> list[str]:
    return get_registry().callbacks.names(pattern)


def get_callback_spec(name: str) -> CallbackSpec:
    return get_registry().callbacks.get(name)
