"""Calling the builders that records name: lazy references, and the keywords each builder accepts.

A record (:mod:`ganzoo.specs`) names its builder as a callable or a lazy
``"package.module:attribute"`` string, so that the registry imports nothing heavy;
these helpers resolve such a reference when something is actually built, and call it
with the keys of a shared configuration that it accepts, refusing a key that no
consumer of that configuration takes (a typo must not vanish).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from .attribution import plugin_failure
from .errors import ConfigError

__all__ = ["Builder", "SharedConfig", "accepted_keywords", "call_with_accepted", "describe_builder", "resolve"]

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
    networks a :class:`~ganzoo.modelconfig.ModelConfig` was assembled for. ``optional`` names
    keywords the caller offers that a builder may ignore (a dataset loader's ``image_size``).
    Any other key (a typo in a ``ModelSpec.config``, a loss option the loss lacks) is a
    ``ConfigError`` naming it and the accepted keys. A builder taking ``**kwargs`` accepts all.

    Builders are plugin code: one that cannot be imported or that raises is reported by
    :func:`ganzoo.attribution.plugin_failure` as a ``PluginError`` naming the plugin (distribution
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
    the generator and the discriminator. Like :class:`~ganzoo.modelconfig.ModelConfig` it names its
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
