"""The registry: every model, loss, dataset and feature extractor the installed plugins provide.

The registry is built once per process from the plugin manager (``get_registry``) and
queried with timm-style functions: ``list_models("dcgan*")`` filters with fnmatch and
sorts naturally; ``get_model_spec(name)`` raises an error that suggests the closest names.
Each hook is called plugin by plugin so that every record knows its plugin, and a plugin that
raises inside a hook loses only its own records.

Names that clash (docs/plugins/reference.md, "Names and clashes"): when a second plugin registers a
name of a kind that another plugin already registered (a new built-in loss named like a
published plugin's, two third-party models of one name), both records stay, and nothing else
of either plugin is lost. The bare name keeps its first owner: the built-ins load first, then
the installed plugins in entry-point order, so a plugin can never take a built-in's name
over. Every record is also reachable by its qualified name ``PLUGIN:NAME``, and a name that a
model's own record uses (its default loss or dataset, or a ``--loss``/``--dataset`` given with
it) means its own plugin's record first. ``ganzoo plugins`` and ``ganzoo list`` show each clash.
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

from ..errors import ConfigError, DuplicateNameError, UnknownNameError
from .builders import attach_registry
from .discovery import PluginInfo, load_plugins, plugin_hook_callers, report_failure, strict_plugins
from .records import CallbackSpec, DatasetSpec, ExtractorSpec, LossSpec, ModelSpec

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
    "reference_name",
    "reset_registry",
    "split_weights_name",
]

SpecT = TypeVar("SpecT", ModelSpec, LossSpec, DatasetSpec, ExtractorSpec, CallbackSpec)


def natural_key(name: str) -> list[Any]:
    """Sort ``gan2`` before ``gan10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@dataclass
class Table(Generic[SpecT]):
    """Records of one kind: ``records`` maps each bare name to its owner (the first plugin that registered it),
    ``shadowed`` a clashing name to the records later plugins registered under it (reachable as ``PLUGIN:NAME``)."""

    kind: str
    spec_type: type
    records: dict[str, SpecT] = field(default_factory=dict)
    shadowed: dict[str, list[SpecT]] = field(default_factory=dict)

    def names(self, pattern: str | None = None) -> list[str]:
        names = self.records.keys()
        if pattern:
            names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        return sorted(names, key=natural_key)

    def get(self, name: str, *, prefer: str | None = None) -> SpecT:
        """The record ``name`` names: ``PLUGIN:NAME`` that plugin's, a bare name its owner's, or, with ``prefer``
        (a plugin's name), that plugin's own record of the name when it has one."""
        plugin, colon, bare = name.rpartition(":")
        if colon:
            for spec in self.owners(bare):
                if spec.plugin == plugin:
                    return spec
            raise UnknownNameError(self.kind, name, self.qualified_names())
        if prefer is not None:
            for spec in self.shadowed.get(name, ()):
                if spec.plugin == prefer:
                    return spec
        try:
            return self.records[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.records) from None

    def find(self, name: str, *, prefer: str | None = None) -> SpecT | None:
        """:meth:`get` without the error: None when nothing is registered under ``name``."""
        try:
            return self.get(name, prefer=prefer)
        except UnknownNameError:
            return None

    def owners(self, name: str) -> list[SpecT]:
        """Every record registered under the bare ``name``, its owner first."""
        owner = self.records.get(name)
        return ([owner] if owner is not None else []) + list(self.shadowed.get(name, ()))

    def qualified_names(self) -> list[str]:
        return [f"{spec.plugin}:{spec.name}" for name in self.records for spec in self.owners(name)]

    def reference(self, spec: SpecT) -> str:
        """The shortest name that finds ``spec`` again: its bare name, or ``PLUGIN:NAME`` when another owns that."""
        return spec.name if self.records.get(spec.name) is spec else f"{spec.plugin}:{spec.name}"

    def shadowed_records(self) -> list[SpecT]:
        """The records that lost their bare name to an earlier plugin, by name."""
        return [spec for name in sorted(self.shadowed, key=natural_key) for spec in self.shadowed[name]]

    def every_record(self) -> list[SpecT]:
        """The owners, then the shadowed records."""
        return [*self.records.values(), *self.shadowed_records()]

    def clash_line(self, name: str) -> str | None:
        """One line for a name several plugins registered: who owns the bare name, how the others are named."""
        if name not in self.shadowed:
            return None
        owner, *others = self.owners(name)
        rest = ", ".join(f"{spec.plugin!r} as '{spec.plugin}:{name}'" for spec in others)
        return f"{self.kind} {name!r} is registered by plugin {owner.plugin!r} (the bare name) and {rest}"

    def clash_lines(self) -> list[str]:
        return [line for name in sorted(self.shadowed, key=natural_key) if (line := self.clash_line(name))]


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
        by_name = {info.name: info for info in plugins}
        for table_name in HOOKS.values():  # what each plugin's status says (``ganzoo plugins``)
            table = getattr(self, table_name)
            for spec in table.shadowed_records():
                by_name[spec.plugin].clashes.append(
                    f"{table.kind} {spec.name!r} belongs to plugin {table.records[spec.name].plugin!r}; this "
                    f"plugin's is '{spec.plugin}:{spec.name}'"
                )

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
        """Add a plugin's records; a name another plugin holds costs only that record its bare name."""
        clashes = [(spec, table.records[spec.name]) for spec in staged if spec.name in table.records]
        if clashes and strict_plugins():  # plugin authors hear of a clash as a failure
            spec, existing = clashes[0]
            raise DuplicateNameError(
                f"{table.kind} {spec.name!r} is already registered by plugin {existing.plugin!r}; it stays "
                f"reachable as '{info.name}:{spec.name}', or choose another name"
            )
        for spec in staged:
            if spec.name in table.records:
                table.shadowed.setdefault(spec.name, []).append(spec)
            else:
                table.records[spec.name] = spec

    def _drop_plugin_records(self, plugin_name: str) -> None:
        """Forget a failed plugin's records; a name it owned passes to the next plugin that registered it."""
        for table_name in HOOKS.values():
            table = getattr(self, table_name)
            for name in list(table.shadowed):
                kept = [spec for spec in table.shadowed[name] if spec.plugin != plugin_name]
                if kept:
                    table.shadowed[name] = kept
                else:
                    del table.shadowed[name]
            for name in [n for n, spec in table.records.items() if spec.plugin == plugin_name]:
                del table.records[name]
                heirs = table.shadowed.pop(name, [])
                if heirs:
                    table.records[name] = heirs[0]
                    if heirs[1:]:
                        table.shadowed[name] = heirs[1:]

    def clash_lines(self) -> list[str]:
        """One line per name that more than one plugin registered, of every kind."""
        return [line for table_name in HOOKS.values() for line in getattr(self, table_name).clash_lines()]

    def table_of(self, spec: Any) -> Table[Any]:
        """The table a record of this type lives in."""
        for table_name in HOOKS.values():
            table = getattr(self, table_name)
            if isinstance(spec, table.spec_type):
                return table
        raise TypeError(f"no table holds a {type(spec).__name__}")


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


attach_registry(get_registry)


def reference_name(spec: Any) -> str:
    """The name that finds ``spec`` again in this registry: its own, or ``PLUGIN:NAME`` when another plugin's record
    holds that name (what a run, an export or a command line records)."""
    return get_registry().table_of(spec).reference(spec)


def list_models(pattern: str | None = None) -> list[str]:
    """Names of the registered models, optionally filtered by an fnmatch ``pattern``, sorted."""
    return get_registry().models.names(pattern)


def split_weights_name(name: str) -> tuple[str, str | None]:
    """``"dcgan-mnist.mnist"`` -> ``("dcgan-mnist", "mnist")``; a plain name has no tag.

    Model names contain no ``.`` (checked when a ModelSpec is made), so the split is by
    spelling alone: everything after the first dot (after the ``PLUGIN:`` of a qualified
    name, whose plugin part may hold dots) is the tag.
    """
    plugin, colon, rest = name.rpartition(":")
    model, dot, tag = rest.partition(".")
    return plugin + colon + model, (tag if dot else None)


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
