"""Calling the plugin code that records name: lazy references, the keywords each builder accepts, and a
crash put down to the plugin that caused it.

A record (:mod:`ganzoo.registry.records`) names its builder as a callable or a lazy
``"package.module:attribute"`` string, so that the registry imports nothing heavy;
these helpers resolve such a reference when something is actually built, and call it
with the keys of a shared configuration that it accepts, refusing a key that no
consumer of that configuration takes (a typo must not vanish).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError, GanzooError, PluginError

__all__ = [
    "Builder",
    "SharedConfig",
    "accepted_keywords",
    "attach_registry",
    "call_with_accepted",
    "current_registry",
    "describe_builder",
    "plugin_failure",
    "resolve",
]

# ---- A plugin's crash, put down to the plugin ----
# One ``PluginError`` line instead of a stranger's traceback.
#
# Models, losses, datasets and feature extractors are built by plugin code, named lazily as
# ``"module:callable"`` and called through :func:`ganzoo.registry.records.call_with_accepted`, which
# runs both the import and the call inside :func:`plugin_failure`. So wherever a record is
# built (``ganzoo.create``, ``ganzoo.load``, ``ganzoo train`` and ``ganzoo.train``, the
# evaluation's extractors), a builder that raises or names a missing module ends in::
#
#     plugin 'foo' (ganzoo-foo 1.0) failed: model 'foo': its generator builder 'ganzoo_foo.nets:G'
#     raised RuntimeError: ...
#
# A ``GanzooError`` a builder raises on purpose (a ``ConfigError`` about a bad option) passes
# unchanged, and ``GANZOO_STRICT_PLUGINS=1`` re-raises the original exception, traceback and
# all, for the plugin's author. Only the standard library is imported here.


_KINDS = {"ModelSpec": "model", "LossSpec": "loss", "DatasetSpec": "dataset", "ExtractorSpec": "feature extractor"}
_ROLES = {"DatasetSpec": "its loader"}


_REGISTRY_GETTER: list[Callable[[], Any]] = []


def attach_registry(get_registry: Callable[[], Any]) -> None:
    """Called once, by :mod:`ganzoo.registry.catalog` as it is imported, with its ``get_registry``.

    The registry holds the records and the records call their builders, so this module and
    :mod:`.records` sit below the catalog and may not import it; the two questions they ask of it
    (whose plugin registered a builder, which dataset a name means) go through this getter.
    """
    _REGISTRY_GETTER[:] = [get_registry]


def current_registry() -> Any:
    """The plugin registry (:func:`ganzoo.get_registry`), built on first use; see :func:`attach_registry`."""
    return _REGISTRY_GETTER[0]()


def _record_for(builder: Any, options: Mapping[str, Any], record: Any) -> tuple[Any, str]:
    """The registered record ``builder`` belongs to, and its role in it (``"its generator builder"``)."""
    if record is None:  # a model's networks: the options were assembled for one model (ModelConfig)
        model = getattr(options, "model", "")
        if not model:
            return None, ""
        # several owners when plugins' models clash: the one with this builder
        owners = current_registry().models.owners(model)
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
    return next((info for info in current_registry().plugins if info.name == name), None)


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
        from .discovery import describe_error, strict_plugins

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


Builder = str | Callable[..., Any]
"""A callable, or a lazy reference ``"package.module:attribute"`` imported on first use."""


def resolve(builder: str | Callable[..., Any]) -> Callable[..., Any]:
    """Import a lazy ``"module:attribute"`` reference (or return a callable as it is)."""
    if callable(builder):
        return builder
    module_name, _, attribute = builder.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def accepted_keywords(function: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword arguments ``function`` takes; None when it takes any (``**kwargs``, or no signature)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return frozenset(name for name, p in parameters.items() if p.kind in keyword)


def call_with_accepted(
    builder: str | Callable[..., Any],
    options: Mapping[str, Any],
    *,
    shared_with: Iterable[str | Callable[..., Any]] = (),
    optional: Iterable[str] = (),
    owner: str | None = None,
    record: Any = None,
) -> Any:
    """Call ``builder`` with those of ``options`` that its signature accepts; refuse a key nobody takes.

    Generator and discriminator constructors share one model configuration but each needs
    only part of it; passing only the accepted keys lets a plugin's classes keep honest
    signatures instead of swallowing ``**kwargs``. A key is dropped for ``builder`` only when
    another consumer of the same options accepts it: one of ``shared_with``, or of the
    networks a :class:`~ganzoo.models.model_config.ModelConfig` was assembled for. ``optional`` names
    keywords the caller offers that a builder may ignore (a dataset loader's ``image_size``).
    Any other key (a typo in a ``ModelSpec.config``, a loss option the loss lacks) is a
    ``ConfigError`` naming it and the accepted keys. A builder taking ``**kwargs`` accepts all.

    Builders are plugin code: one that cannot be imported or that raises is reported by
    :func:`ganzoo.registry.builders.plugin_failure` as a ``PluginError`` naming the plugin (distribution
    and version), the record (``record``, or the model the options were assembled for) and the
    exception. A ``GanzooError`` a builder raises on purpose (a ``ConfigError`` about an option)
    passes through unchanged; ``GANZOO_STRICT_PLUGINS=1`` re-raises the original exception.
    """
    with plugin_failure(builder, options, record=record, stage="cannot be imported ({error})"):
        function = resolve(builder)
    accepted = accepted_keywords(function)
    if accepted is None:
        with plugin_failure(builder, options, record=record):
            return function(**options)
    leftover = [key for key in options if key not in accepted and key not in set(optional)]
    if leftover:
        consumers = (*shared_with, *getattr(options, "networks", ()))
        union = set(accepted)
        for other in consumers:
            with plugin_failure(other, options, record=record, stage="cannot be imported ({error})"):
                resolved = resolve(other)
            keywords = accepted_keywords(resolved)
            if keywords is None:  # a consumer that takes **kwargs takes every key
                union = None
                break
            union |= keywords
        unknown = [key for key in leftover if union is not None and key not in union]
        if unknown:
            if owner is None:
                model = getattr(options, "model", "")
                owner = f"model {model!r}" if model else describe_builder(builder)
            taker = "none of its networks accepts" if consumers else "it does not accept"
            keys = ", ".join(repr(key) for key in unknown)
            raise ConfigError(
                f"{owner}: {taker} {'the key' if len(unknown) == 1 else 'the keys'} {keys}; "
                f"accepted: {', '.join(sorted(union or ())) or 'none'}"
            )
    with plugin_failure(builder, options, record=record):
        return function(**{key: value for key, value in options.items() if key in accepted})


def describe_builder(builder: str | Callable[..., Any]) -> str:
    """A printable reference for a builder, without importing it."""
    if isinstance(builder, str):
        return builder
    return f"{builder.__module__}:{builder.__qualname__}"


class SharedConfig(Mapping[str, Any]):
    """A read-only configuration that several builders share: a ``ModelSpec.config``, which feeds both
    the generator and the discriminator. Like :class:`~ganzoo.models.model_config.ModelConfig` it names its
    ``networks``, so ``call_with_accepted(spec.generator, spec.config)`` routes each key to the network
    that takes it and refuses one that neither does."""

    def __init__(self, values: Mapping[str, Any], *, model: str, networks: tuple[Any, ...]):
        self._values = MappingProxyType(dict(values))
        self.model = model
        self.networks = networks

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return repr(dict(self._values))
