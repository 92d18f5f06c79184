"""A plugin's crash, put down to the plugin: one ``PluginError`` line instead of a stranger's traceback.

Models, losses, datasets and feature extractors are built by plugin code, named lazily as
``"module:callable"`` and called through :func:`ganzoo.specs.call_with_accepted`, which
runs both the import and the call inside :func:`plugin_failure`. So wherever a record is
built (``ganzoo.create``, ``ganzoo.load``, ``ganzoo train`` and ``ganzoo.train``, the
evaluation's extractors), a builder that raises or names a missing module ends in::

    plugin 'foo' (ganzoo-foo 1.0) failed: model 'foo': its generator builder 'ganzoo_foo.nets:G'
    raised RuntimeError: ...

A ``GanzooError`` a builder raises on purpose (a ``ConfigError`` about a bad option) passes
unchanged, and ``GANZOO_STRICT_PLUGINS=1`` re-raises the original exception, traceback and
all, for the plugin's author. Only the standard library is imported here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from .errors import GanzooError, PluginError

__all__ = ["plugin_failure"]

_KINDS = {"ModelSpec": "model", "LossSpec": "loss", "DatasetSpec": "dataset", "ExtractorSpec": "feature extractor"}
_ROLES = {"DatasetSpec": "its loader"}


def _record_for(builder: Any, options: Mapping[str, Any], record: Any) -> tuple[Any, str]:
    """The registered record ``builder`` belongs to, and its role in it (``"its generator builder"``)."""
    if record is None:  # a model's networks: the options were assembled for one model (ModelConfig)
        model = getattr(options, "model", "")
        if not model:
            return None, ""
        from .registry import get_registry

        owners = get_registry().models.owners(model)  # several when plugins' models clash: the one with this builder
        record = next((r for r in owners if builder in (r.generator, r.discriminator)), owners[0] if owners else None)
        if record is None:
            return None, ""
    for role in ("generator", "discriminator"):
        if hasattr(record, role) and builder == getattr(record, role):
            return record, f"its {role} builder"
    return record, _ROLES.get(type(record).__name__, "its builder")


def _plugin_info(record: Any) -> Any:
    """The ``PluginInfo`` of the plugin that registered ``record`` (None: no plugin did)."""
    name = getattr(record, "plugin", "")
    if not name:
        return None
    from .registry import get_registry

    return next((info for info in get_registry().plugins if info.name == name), None)


@contextlib.contextmanager
def plugin_failure(
    builder: str | Callable[..., Any],
    options: Mapping[str, Any] = MappingProxyType({}),
    *,
    record: Any = None,
    stage: str = "raised {error}",
) -> Iterator[None]:
    """Turn an exception raised in the block by ``builder`` (its import, or its call) into a ``PluginError``.

    ``record`` is the registered spec the builder belongs to; without it, the model that
    ``options`` were assembled for (a ``ModelConfig``'s ``model``). Anything that is not a
    registered plugin's code (a spec built by hand) raises as it is. ``stage`` words what went
    wrong, with ``{error}`` for the exception (``"cannot be imported ({error})"`` for an import).
    """
    try:
        yield
    except GanzooError:
        raise
    except Exception as error:
        from .builders import describe_builder
        from .plugins import describe_error, strict_plugins

        if strict_plugins():
            raise
        found, role = _record_for(builder, options, record)
        info = _plugin_info(found)
        if info is None:
            raise
        what = f"{_KINDS.get(type(found).__name__, 'record')} {found.name!r}"
        built_with = f" with {dict(options)}" if role.endswith(("generator builder", "discriminator builder")) else ""
        raise PluginError(
            f"plugin {info.name!r} ({info.distribution} {info.version}) failed: {what}: {role} "
            f"{describe_builder(builder)!r}{built_with} {stage.format(error=describe_error(error))} "
            "(GANZOO_STRICT_PLUGINS=1 shows the traceback)"
        ) from error
