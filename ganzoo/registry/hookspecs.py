"""Hook specifications: the whole contract between ganzoo and its plugins.

This module holds only the markers and the specifications; it imports nothing heavy so
that discovering plugins never pays for torch. Each hook receives a ``register``
callback (the simonw/llm shape) rather than returning a list, so that a plugin can
register any number of records and ganzoo knows which plugin registered each.

Hook implementations may accept fewer arguments than a specification names; this is
what lets these specifications grow new arguments without breaking plugins.
"""

from __future__ import annotations

from typing import Any

import pluggy

__all__ = [  # the hooks too, so that help(ganzoo.registry.hookspecs) lists them with their documentation
    "hookimpl",
    "hookspec",
    "register_callbacks",
    "register_commands",
    "register_datasets",
    "register_feature_extractors",
    "register_losses",
    "register_models",
]

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")


@hookspec
def register_models(register: Any) -> None:
    """Register GAN models: call ``register(ganzoo.ModelSpec(...))`` once per model."""


@hookspec
def register_losses(register: Any) -> None:
    """Register adversarial losses: call ``register(ganzoo.LossSpec(...))`` once per loss."""


@hookspec
def register_datasets(register: Any) -> None:
    """Register datasets: call ``register(ganzoo.DatasetSpec(...))`` once per dataset."""


@hookspec
def register_feature_extractors(register: Any) -> None:
    """Register feature extractors for evaluation metrics: ``register(ganzoo.ExtractorSpec(...))``."""


@hookspec
def register_callbacks(register: Any) -> None:
    """Register training callbacks, turned on with ``ganzoo train --callback NAME``:
    ``register(ganzoo.CallbackSpec(...))``."""


@hookspec
def register_commands(app: Any) -> None:
    """Add CLI commands: ``app`` is the root ``typer.Typer``; use ``@app.command()`` or ``app.add_typer``."""
