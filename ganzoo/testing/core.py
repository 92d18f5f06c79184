"""What every contract check shares: the error, the constants, plugin selection and small context managers."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import GanzooError
from ..registry.catalog import get_registry

TRAIN_STEPS = 2
TRAIN_BATCH = 4
SYNTHETIC_SAMPLES = 16
SYNTHETIC_IMAGE_SIZE = 16
"""Image size for datasets that resize to the model's size when the model fixes none."""

DataRoots = Mapping[str, "str | os.PathLike[str]"]


class ContractError(AssertionError):
    """A plugin record breaks the contract; the message names the plugin, the record and the fault."""


def fail(kind: str, spec: Any, problem: str) -> ContractError:
    return ContractError(f"plugin {spec.plugin or '?'!r}, {kind} {spec.name!r}: {problem}")


def plugin_names(plugin: str) -> set[str]:
    """Registry plugin names (``PluginInfo.name``) that ``plugin`` may refer to."""
    registry = get_registry()
    wanted = plugin.strip()
    normal = wanted.replace("_", "-").lower()
    names = set()
    for info in registry.plugins:
        module = info.module.partition(":")[0]
        keys = {info.name, info.distribution, module, module.split(".")[0]}
        if wanted in keys or normal in {k.replace("_", "-").lower() for k in keys}:
            names.add(info.name)
    if not names:
        known = sorted({p.name for p in registry.plugins} | {p.distribution for p in registry.plugins})
        raise GanzooError(
            f"no loaded plugin is called {plugin!r} (by entry-point name, distribution or module); "
            f"loaded: {', '.join(known)}. Is the package installed in this environment?"
        )
    failed = [info for info in registry.plugins if info.name in names and info.error]
    if failed:
        raise ContractError(f"plugin {failed[0].name!r} failed to load: {failed[0].error}")
    return names


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Tiny batches run fastest on one thread, and a busy CI machine cannot make threads spin-wait."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def output_folder(out: str | os.PathLike[str] | None) -> Iterator[Path]:
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        yield Path(out)
        return
    with tempfile.TemporaryDirectory(prefix="ganzoo-contract-") as folder:
        yield Path(folder)
