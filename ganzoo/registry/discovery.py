"""Plugin discovery: the built-in plugins and every installed ``ganzoo`` entry point.

Each plugin is loaded on its own. A plugin that fails to import, implements a hook
whose name ganzoo does not know (a misspelling that pluggy would otherwise ignore), or
raises inside a hook is recorded as failed and skipped, with a one-line warning; all the
others keep working. Environment switches (documented in docs/plugins/reference.md):

``GANZOO_LOAD_PLUGINS``
    Comma-separated plugin or distribution names: load only these third-party plugins
    (set it to an empty string to load none). The built-ins always load.
``GANZOO_STRICT_PLUGINS``
    ``1``: a failing plugin raises instead of being skipped (for plugin authors).
``GANZOO_TRACE_PLUGINS``
    ``1``: print every hook call and its result on stderr.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from .._version import __version__
from ..errors import PluginError
from . import hookspecs

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PluginWarning",
    "get_plugin_manager",
    "load_plugins",
    "plugin_hook_callers",
]

ENTRY_POINT_GROUP = "ganzoo"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "ganzoo_plugins.mlp_gan",
    "ganzoo_plugins.dcgan_mnist",
    "ganzoo_plugins.dcgan_faces",
    "ganzoo_plugins.cgan_mnist",
    "ganzoo_plugins.cnn_gan",
    "ganzoo_plugins.r3gan",
    "ganzoo_plugins.losses",
    "ganzoo_plugins.datasets",
    "ganzoo_plugins.extractors",
)
"""Modules of the built-in plugins, registered exactly as entry points are."""


class PluginWarning(UserWarning):
    """A plugin failed and was skipped."""


@dataclass
class PluginInfo:
    """What ``ganzoo plugins`` shows about one plugin."""

    name: str
    module: str
    distribution: str
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    clashes: list[str] = field(default_factory=list)
    """Names this plugin registered that an earlier plugin holds (each record reachable as ``PLUGIN:NAME``)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "hooks": list(self.hooks),
            "error": self.error,
            "clashes": list(self.clashes),
        }


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def strict_plugins() -> bool:
    return _env_flag("GANZOO_STRICT_PLUGINS")


def _allowed_plugins() -> set[str] | None:
    value = os.environ.get("GANZOO_LOAD_PLUGINS")
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def describe_error(error: BaseException) -> str:
    """One line: the exception type and its message with line breaks folded."""
    message = "; ".join(line.strip() for line in str(error).strip().splitlines() if line.strip())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def report_failure(info: PluginInfo, error: BaseException, stage: str) -> None:
    """Record a plugin failure; warn, or raise under ``GANZOO_STRICT_PLUGINS``."""
    info.error = f"{stage}: {describe_error(error)}"
    if strict_plugins():
        raise PluginError(f"plugin {info.name!r} ({info.distribution}) failed {info.error}") from error
    warnings.warn(
        f"plugin {info.name!r} ({info.distribution}) was skipped, {info.error}",
        PluginWarning,
        stacklevel=3,
    )


def get_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager with ganzoo's hook specifications and nothing registered."""
    manager = pluggy.PluginManager("ganzoo")
    manager.add_hookspecs(hookspecs)
    if _env_flag("GANZOO_TRACE_PLUGINS"):
        _trace_hook_calls(manager)
    return manager


def _trace_hook_calls(manager: pluggy.PluginManager) -> None:
    """Write each hook call, the plugins whose implementations it runs, and how it ended, to stderr."""

    def plugins(hook_impls: list[Any]) -> str:
        return ", ".join(repr(manager.get_name(impl.plugin) or impl.plugin_name) for impl in hook_impls) or "none"

    def before(hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
        sys.stderr.write(f"ganzoo trace: {hook_name}({arguments}) -> plugin {plugins(hook_impls)}\n")

    def after(outcome: Any, hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        error = outcome.exception
        ended = f"raised {describe_error(error)}" if error is not None else f"returned {outcome.get_result()!r}"
        sys.stderr.write(f"ganzoo trace: {hook_name} in plugin {plugins(hook_impls)} {ended}\n")

    manager.add_hookcall_monitoring(before, after)


def _unknown_hooks(manager: pluggy.PluginManager, plugin: object) -> list[str]:
    """Hook implementations of ``plugin`` that match no specification (pluggy's check_pending)."""
    unknown = []
    for caller in manager.get_hookcallers(plugin) or []:
        if caller.spec is None:
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not impl.optionalhook:
                    unknown.append(caller.name)
    return unknown


def _hook_names(manager: pluggy.PluginManager, plugin: object) -> list[str]:
    return sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])


def _register(manager: pluggy.PluginManager, module: ModuleType, info: PluginInfo) -> bool:
    try:
        manager.register(module, name=info.name)
    except Exception as error:  # pluggy validates argument names against the specs here
        report_failure(info, error, "registration")
        return False
    unknown = _unknown_hooks(manager, module)
    if unknown:
        import difflib

        known = [name for name in dir(hookspecs) if name.startswith("register_")]
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        manager.unregister(module)
        report_failure(info, PluginError("unknown hook " + ", ".join(hints)), "validation")
        return False
    info.hooks = _hook_names(manager, module)
    return True


def _load_builtin(manager: pluggy.PluginManager, module_name: str, infos: list[PluginInfo]) -> None:
    info = PluginInfo(
        name=module_name.rsplit(".", 1)[-1].replace("_", "-"),
        module=module_name,
        distribution="ganzoo",
        version=__version__,
        builtin=True,
    )
    infos.append(info)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        report_failure(info, error, "import")
        return
    _register(manager, module, info)


def _entry_points() -> list[metadata.EntryPoint]:
    found = metadata.entry_points(group=ENTRY_POINT_GROUP)
    unique: dict[tuple[str, str], metadata.EntryPoint] = {}
    for entry_point in found:  # a distribution seen twice on sys.path lists its entry points twice
        unique.setdefault((entry_point.name, entry_point.value), entry_point)
    return sorted(unique.values(), key=lambda ep: ep.name)


def _load_entry_point(
    manager: pluggy.PluginManager, entry_point: metadata.EntryPoint, infos: list[PluginInfo]
) -> None:
    dist = getattr(entry_point, "dist", None)
    info = PluginInfo(
        name=entry_point.name,
        module=entry_point.value,
        distribution=dist.name if dist is not None else "?",
        version=dist.version if dist is not None else "?",
        builtin=False,
    )
    if any(existing.name == info.name for existing in infos):
        infos.append(info)
        report_failure(info, PluginError("another plugin already uses this name"), "registration")
        return
    infos.append(info)
    try:
        module = entry_point.load()
    except BaseException as error:  # SystemExit from a careless plugin must not end ganzoo
        if isinstance(error, KeyboardInterrupt):
            raise
        report_failure(info, error, "import")
        return
    _register(manager, module, info)


def plugin_hook_callers(
    manager: pluggy.PluginManager, plugins: list[PluginInfo], hook_name: str
) -> Iterator[tuple[PluginInfo, Callable[..., Any]]]:
    """``(info, caller)`` for each loaded plugin that implements ``hook_name``, in load order.

    ``caller(**kwargs)`` runs that plugin's implementation alone, so whatever it registers,
    and whatever it raises, is put down to that one plugin (records, commands, callbacks).
    """
    for info in plugins:
        if info.error is not None or hook_name not in info.hooks:
            continue
        plugin = manager.get_plugin(info.name)
        if plugin is None:
            continue
        others = [p for p in manager.get_plugins() if p is not plugin]
        yield info, manager.subset_hook_caller(hook_name, remove_plugins=others)


def load_plugins(
    manager: pluggy.PluginManager | None = None,
    *,
    builtins: tuple[str, ...] = DEFAULT_PLUGINS,
    entry_points: bool = True,
) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Register the built-ins and the installed entry points; return the manager and their records."""
    manager = manager or get_plugin_manager()
    infos: list[PluginInfo] = []
    for module_name in builtins:
        _load_builtin(manager, module_name, infos)
    if entry_points:
        allowed = _allowed_plugins()
        for entry_point in _entry_points():
            dist = getattr(entry_point, "dist", None)
            dist_name = dist.name if dist is not None else ""
            if allowed is not None and entry_point.name not in allowed and dist_name not in allowed:
                continue
            _load_entry_point(manager, entry_point, infos)
    return manager, infos
