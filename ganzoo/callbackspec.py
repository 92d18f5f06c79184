"""The record of a training callback a plugin registers (``register_callbacks``), turned on by ``--callback NAME``.

Like the other records it imports nothing heavy: the callback class is named lazily and
imported only when a run asks for it. The callback itself derives from
:class:`ganzoo.training.Callback` (see :mod:`ganzoo.training.callbacks` for the events).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .specs import _check_builder, _check_name, call_with_accepted

__all__ = ["CallbackSpec"]


@dataclass(frozen=True)
class CallbackSpec:
    """A training callback: ``ganzoo train ... --callback NAME`` adds one, built by calling ``builder()``.

    ``builder`` (a callable or ``"module:attribute"``) is called with no arguments and returns a
    :class:`ganzoo.training.Callback`. A callback with ``state_dict()``/``load_state_dict()`` is saved in
    the checkpoint under ``callback:NAME`` and restored on ``--resume``.
    """

    name: str
    """Registry name, turned on by ``ganzoo train ... --callback NAME``."""
    summary: str
    """One line for ``ganzoo list --callbacks``."""
    builder: str | Callable[..., Any]
    """Called with no arguments; returns a :class:`ganzoo.training.Callback`."""
    plugin: str = ""
    """Set by the registry: the plugin that registered this callback."""

    def __post_init__(self) -> None:
        _check_name("callback", self.name)
        _check_builder("callback", self.name, "builder", self.builder)

    def build(self) -> Any:
        return call_with_accepted(self.builder, {}, owner=f"callback {self.name!r}")
