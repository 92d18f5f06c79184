"""The checks as pytest parameters: one :class:`Check` per record and aspect, for every kind of record."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GanzooError
from ..registry.catalog import get_registry
from .callbacks import CALLBACK_ASPECTS, check_callback_aspect
from .core import ContractError, DataRoots, one_thread, plugin_names
from .datasets import check_dataset_load, check_dataset_missing, needs_files
from .extractors import EXTRACTOR_ASPECTS, check_extractor_aspect
from .losses import check_loss
from .models import check_model_aspect, checked_options, model_aspects

__all__ = ["Check", "contract_checks", "contract_tests", "parametrize_plugin"]


@dataclass(frozen=True)
class Check:
    """One aspect of one record, runnable as ``check()`` or ``check(tmp_path)``."""

    kind: str
    name: str
    aspect: str
    plugin: str
    root: str | None = None
    """Where a dataset that needs files is loaded from."""
    options: Mapping[str, Any] | None = None
    """A model's options (``{"widths": "16,8"}``: the checks build and train a smaller model), a feature
    extractor's builder options (``{"weights": None}`` checks one whose weights are elsewhere), or a callback's
    options (``--callback-option`` values) that its checks train with."""

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}:{self.aspect}"

    def __call__(self, tmp_path: str | os.PathLike[str] | None = None) -> None:
        with one_thread():
            self._run(tmp_path)

    def _run(self, tmp_path: str | os.PathLike[str] | None) -> None:
        registry = get_registry()
        if self.kind == "model":
            check_model_aspect(registry.models.get(self.name), self.aspect, tmp_path, self.options)
        elif self.kind == "loss":
            check_loss(self.name)
        elif self.kind == "extractor":
            check_extractor_aspect(registry.extractors.get(self.name), self.aspect, self.options)
        elif self.kind == "callback":
            check_callback_aspect(registry.callbacks.get(self.name), self.aspect, tmp_path, self.options)
        elif self.aspect == "missing-data":
            check_dataset_missing(registry.datasets.get(self.name))
        else:
            check_dataset_load(registry.datasets.get(self.name), self.root)


ModelOptions = Mapping[str, Mapping[str, Any]]
"""Options per model name: ``{"foo-gan": {"widths": "16,8"}}``."""
CallbackOptions = Mapping[str, Mapping[str, Any]]
"""Options per callback name: ``{"foo-log": {"every": 2}}``."""


def contract_checks(
    plugin: str | None = None,
    *,
    data_roots: DataRoots | None = None,
    model_options: ModelOptions | None = None,
    callback_options: CallbackOptions | None = None,
) -> list[Check]:
    """Every check of the records ``plugin`` registered (all plugins when None), in a stable order.

    ``model_options`` gives models the options their checks build and train with (``{"foo-gan": {"widths":
    "16,8"}}``), so that the contract need not train at paper width; each is checked against the model's
    declared ``options`` here, when the tests are collected. ``callback_options`` gives callbacks the options
    their checks train with (``{"foo-log": {"every": 2}}``; none: the builder's defaults)."""
    registry = get_registry()
    plugins = plugin_names(plugin) if plugin is not None else None
    roots = {k: os.fspath(v) for k, v in (data_roots or {}).items()}
    unknown = sorted(set(roots) - set(registry.datasets.records))
    if unknown:
        raise GanzooError(f"data_roots names unknown datasets: {', '.join(unknown)}")

    def mine(spec: Any) -> bool:
        return plugins is None or spec.plugin in plugins

    options = dict(model_options or {})
    strangers = sorted(name for name in options if name not in registry.models.records
                       or not mine(registry.models.records[name]))
    if strangers:
        raise GanzooError(f"model_options names {', '.join(strangers)}, not a model of "
                          f"{'any plugin' if plugin is None else repr(plugin)}")
    checks: list[Check] = []
    for name in registry.models.names():
        spec = registry.models.records[name]
        if mine(spec):
            given = checked_options(spec, options[name]) if name in options else None
            checks += [Check("model", name, aspect, spec.plugin, options=given) for aspect in model_aspects(spec)]
    for name in registry.losses.names():
        spec = registry.losses.records[name]
        if mine(spec):
            checks.append(Check("loss", name, "values", spec.plugin))
    for name in registry.datasets.names():
        spec = registry.datasets.records[name]
        if mine(spec):
            if needs_files(spec):
                checks.append(Check("dataset", name, "missing-data", spec.plugin))
            checks.append(Check("dataset", name, "load", spec.plugin, roots.get(name)))
    for name in registry.extractors.names():
        spec = registry.extractors.records[name]
        if mine(spec):
            checks += [Check("extractor", name, aspect, spec.plugin) for aspect in EXTRACTOR_ASPECTS]
    for_callbacks = dict(callback_options or {})
    unknown = sorted(set(for_callbacks) - set(registry.callbacks.records))
    if unknown:
        raise GanzooError(f"callback_options names unknown callbacks: {', '.join(unknown)}")
    for name in registry.callbacks.names():
        spec = registry.callbacks.records[name]
        if mine(spec):
            checks += [Check("callback", name, aspect, spec.plugin, options=for_callbacks.get(name))
                       for aspect in CALLBACK_ASPECTS]
    if plugin is not None and not checks:
        raise ContractError(f"plugin {plugin!r} registers no model, loss, dataset, feature extractor or callback")
    return checks


def parametrize_plugin(
    plugin: str | None = None,
    *,
    data_roots: DataRoots | None = None,
    model_options: ModelOptions | None = None,
    callback_options: CallbackOptions | None = None,
) -> Any:
    """``@parametrize_plugin("ganzoo-foo")``: parametrise a test's ``check`` argument over the plugin's checks."""
    import pytest

    checks = contract_checks(plugin, data_roots=data_roots, model_options=model_options,
                             callback_options=callback_options)
    return pytest.mark.parametrize("check", checks, ids=[c.id for c in checks])


def contract_tests(
    plugin: str | None = None,
    *,
    data_roots: DataRoots | None = None,
    model_options: ModelOptions | None = None,
    callback_options: CallbackOptions | None = None,
) -> Callable[..., None]:
    """A ready pytest test function: ``test_contract = ganzoo.testing.contract_tests("ganzoo-foo")``; see
    :func:`contract_checks` for ``data_roots``, ``model_options`` and ``callback_options``."""

    @parametrize_plugin(plugin, data_roots=data_roots, model_options=model_options,
                        callback_options=callback_options)
    def test_contract(check: Check, tmp_path: Path) -> None:
        check(tmp_path)

    return test_contract
