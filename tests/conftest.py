"""Shared fixtures: isolated registries and throw-away plugin modules."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import ganzoo

pytest_plugins = ("toyhub",)  # the toy plugin's ``server`` and ``toy`` fixtures, for the ganzoo.load tests


@pytest.fixture
def lock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], str]]:
    """``lock(folder)`` makes nothing writable in ``folder`` and returns what the error says about it.

    Tests run as root here, and root ignores permission bits, so a ``chmod`` makes no folder
    unwritable for them. ``lock`` makes a real one where it can: a read-only bind mount (root
    with mount rights), or a ``chmod 555`` folder (any other user); only where neither works is
    the error injected at ``os.open``/``os.mkdir``, which every write goes through.
    """
    mounts: list[Path] = []

    def make(folder: Path) -> str:
        if os.geteuid() != 0:
            folder.chmod(0o555)
            return f"no permission to write in {folder}"
        mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True)
        if mounted.returncode == 0:
            mounts.append(folder)
        else:  # root without mount rights (a container): the errno a read-only mount gives
            from helpers import inject_os_error  # helpers imports torch: only when needed

            inject_os_error(monkeypatch, folder, errno.EROFS)
        return f"{folder} is on a read-only file system"

    yield make
    for folder in mounts:
        subprocess.run(["umount", str(folder)], check=True)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``pytest -m cuda`` on a machine without a CUDA GPU: those tests (and only those) are skipped, saying why."""
    if item.get_closest_marker("cuda") is not None:
        import torch

        if not torch.cuda.is_available():
            pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False here)")


@pytest.fixture(autouse=True)
def _isolated_state(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test starts with a fresh registry and private cache/data directories."""
    home = tmp_path_factory.mktemp("ganzoo-home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("GANZOO_CACHE_DIR", raising=False)
    monkeypatch.delenv("GANZOO_DATA_DIR", raising=False)
    for switch in ("GANZOO_LOAD_PLUGINS", "GANZOO_STRICT_PLUGINS", "GANZOO_TRACE_PLUGINS"):
        monkeypatch.delenv(switch, raising=False)
    ganzoo.reset_registry()
    yield
    ganzoo.reset_registry()


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Write ``source`` as a uniquely named importable module and return its name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    created: list[str] = []

    def make(source: str) -> str:
        name = f"ganzoo_test_plugin_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        created.append(name)
        return name

    yield make
    for name in created:
        sys.modules.pop(name, None)


@pytest.fixture
def use_plugins() -> Iterator[Callable[..., ganzoo.registry.catalog.Registry]]:
    """``use_plugins(*plugins)``: for this test, the registry is the built-ins plus temporary plugins.

    Each plugin is a module name (``plugin_module``'s) or a module object with ``@ganzoo.hookimpl``
    functions (``helpers.plugin_object``); records come only through the plugin hooks, as from an
    installed plugin. Returns the registry, also for checking what the plugins were reported for.
    """
    from helpers import install_registry, registry_with

    objects: list[str] = []

    def use(*plugins: object) -> ganzoo.registry.catalog.Registry:
        objects.extend(p.__name__ for p in plugins if not isinstance(p, str))
        registry = registry_with(*plugins)
        install_registry(registry)
        return registry

    yield use
    for name in objects:
        sys.modules.pop(name, None)
    install_registry(None)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads, and on a loaded 2-core machine extra threads thrash."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def fid_weights_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A random-weights file of the FID Inception's names and shapes, written once, and its sha256."""
    import hashlib

    import torch
    from helpers import fid_inception_random_state

    path = tmp_path_factory.mktemp("fid-weights") / "fid-inception-random.pth"
    torch.save(fid_inception_random_state(0), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fid_weights(fid_weights_file: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The random-weights file, with its digest injected as the expected one for this test only."""
    from ganzoo_plugins.extractors import fid_inception

    path, digest = fid_weights_file
    monkeypatch.setattr(fid_inception, "SHA256_PREFIX", digest[:8])
    return path
