"""What several test files share: tiny data the tests write, temporary plugins, the CLI in a subprocess.

Test files import from here (``from helpers import tiny_mnist_root``), never from each
other. Records a test needs (a model, loss, dataset or extractor that breaks a rule, say)
come from a temporary plugin registered next to the built-ins, exactly as an installed
plugin would be; the ``use_plugins`` fixture in conftest.py does it for one test.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from ganzoo_plugins.datasets.mnist_family import TORCHVISION_CLASSES
from PIL import Image

import ganzoo
import ganzoo.registry.catalog
from ganzoo.registry.catalog import Registry
from ganzoo.registry.discovery import DEFAULT_PLUGINS

# ---------------------------------------------------------------- temporary plugins


def registry_with(*plugins: str | ModuleType) -> Registry:
    """The built-ins plus ``plugins``, loaded by the plugin manager as it loads installed plugins.

    A plugin is an importable module name or a module object holding ``@ganzoo.hookimpl``
    functions (made with ``types.ModuleType``); an object is put in ``sys.modules`` under its
    own name, which the caller removes again (the fixture does).
    """
    names = []
    for plugin in plugins:
        if isinstance(plugin, ModuleType):
            sys.modules[plugin.__name__] = plugin
            plugin = plugin.__name__
        names.append(plugin)
    return Registry.from_plugins(builtins=(*DEFAULT_PLUGINS, *names), entry_points=False)


def install_registry(registry: Registry | None) -> None:
    """Make ``registry`` the process-wide one (None: rediscover on next use); the one place tests set it."""
    ganzoo.registry.catalog._registry = registry


def plugin_object(**hooks: object) -> ModuleType:
    """A uniquely named plugin module whose attributes are ``hooks`` (functions marked ``@ganzoo.hookimpl``)."""
    module = ModuleType(f"ganzoo_test_plugin_{uuid.uuid4().hex[:8]}")
    for name, hook in hooks.items():
        setattr(module, name, hook)
    return module


# ---------------------------------------------------------------- tiny data the tests write
def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file as LeCun's MNIST files are written: magic (0, 0, 0x08 = ubyte, ndim), big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def tiny_mnist_root(root: Path, dataset: str = "mnist", count: int = 48) -> Path:
    """``root/<Folder>/raw`` with train and test IDX files of ``count`` random 28x28 "digits"."""
    raw = root / TORCHVISION_CLASSES[dataset] / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(count) % 10)
    return root


def write_tiny_family(root: Path, name: str, train: int = 7, test: int = 3) -> dict[str, np.ndarray]:
    """``root/<Folder>/raw`` of MNIST-family dataset ``name``; returns the pixels written per split prefix."""
    raw = root / TORCHVISION_CLASSES[name] / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for prefix, count in (("train", train), ("t10k", test)):
        pixels = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = np.arange(count, dtype=np.uint8) % 10
        write_idx(raw / f"{prefix}-images-idx3-ubyte", pixels)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        written[prefix] = pixels
    return written


def tiny_image_folder(root: Path, count: int = 12, size: int = 72) -> Path:
    """``root/faces/all/*.png``: ``count`` random RGB images of ``size`` x ``size + 8``; returns ``root/faces``."""
    folder = root / "faces" / "all"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size + 8, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    return root / "faces"


def tiny_dataset_for(spec: ganzoo.ModelSpec, tmp_path: Path) -> tuple[str, Path | None]:
    """A dataset ``spec`` trains on that the tests can make (its default first, then any it accepts),
    and the root to pass as ``data_dir`` (None for data generated in code)."""
    for name in (spec.default_dataset, *ganzoo.list_datasets()):
        if not name or not spec.trains_on(name):
            continue
        dataset = ganzoo.get_dataset_spec(name)
        if name in TORCHVISION_CLASSES:
            return name, tiny_mnist_root(tmp_path / "data", name)
        if name == "image-folder" and not spec.conditional:
            return name, tiny_image_folder(tmp_path)
        if dataset.embedded:
            return name, None
    raise AssertionError(f"{spec.name}: no dataset it accepts can be made tiny here; add one to tests/helpers.py")


def three_bands(width: int, height: int) -> Image.Image:
    """Red | green | blue thirds along the long side: a centre crop keeps only green."""
    array = np.zeros((height, width, 3), dtype=np.uint8)
    if width >= height:
        third = width // 3
        array[:, :third, 0], array[:, third : 2 * third, 1], array[:, 2 * third :, 2] = 255, 255, 255
    else:
        third = height // 3
        array[:third, :, 0], array[third : 2 * third, :, 1], array[2 * third :, :, 2] = 255, 255, 255
    return Image.fromarray(array)


def make_folder(root: Path) -> Path:
    """Six images of different sizes, formats and modes in two class folders."""
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    three_bands(60, 20).save(root / "a" / "wide.png")
    three_bands(24, 72).save(root / "a" / "tall.png")
    three_bands(90, 30).save(root / "b" / "wide.jpg", quality=95)
    Image.new("L", (33, 33), 200).save(root / "b" / "grey.png")
    Image.new("RGBA", (16, 20), (10, 20, 30, 128)).save(root / "b" / "alpha.png")
    Image.new("RGB", (50, 40), (0, 0, 255)).save(root / "a" / "blue.JPEG", quality=95)
    (root / "b" / "notes.txt").write_text("not an image")
    return root


def tiny_export(tmp: Path, out: Path | None = None) -> Path:
    """A real export folder: ``dcgan-mnist`` (width 8) trained for two steps on tiny MNIST, then evaluated
    (``record_evaluation``, as ``ganzoo eval --write-card`` does), so its card has measured metrics."""
    from ganzoo.cards.folder import record_evaluation
    from ganzoo.training import TrainConfig, train

    config = TrainConfig(
        "dcgan-mnist", dataset="mnist", data_dir=tiny_mnist_root(tmp / "data"), steps=2, batch_size=4, limit=8,
        device="cpu", quiet=True, out=out or tmp / "run", num_samples=4, log_every=1000, sample_every=1000,
        checkpoint_every=1000, options={"width": 8},
    )
    folder = train(config).export_dir
    record_evaluation(folder, metrics={"fid": 123.4, "precision": 0.25}, protocol={"n": 8}, protocol_text="8 vs 8")
    return folder


# ---------------------------------------------------------------- the CLI in a subprocess
def run_ganzoo(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``ganzoo ARGS`` in a fresh interpreter that sees the distributions installed under ``site``."""
    environ = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "200", **env}
    code = "import sys; from ganzoo.cli.app import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=environ)


# ---------------------------------------------------------------- runs that end early
def crash_at(step: int):
    """A training callback that ends the run with an error at ``step``, as a kill would: no checkpoint after
    the last regular one."""
    from ganzoo.training import Callback

    class CrashAt(Callback):
        def on_step_end(self, run):
            if run.step == step:
                raise RuntimeError("killed")

    return CrashAt()


# ---------------------------------------------------------------- a feature extractor for the metrics tests


class CountingExtractor:
    """Mean and standard deviation of each image row: cheap, deterministic, and it counts its calls."""

    name = "counting"
    weights_sha256 = "0" * 64
    num_classes = 2
    input_note = "row statistics"

    def __init__(self):
        self.calls = 0

    def extract(self, x):
        self.calls += 1
        rows = x.flatten(2)
        features = torch.cat([rows.mean(2), rows.std(2), x.mean((2, 3))[:, :1] * 3], 1)
        logits = torch.stack([-x.mean((1, 2, 3)), x.mean((1, 2, 3))], 1)
        return features, logits


def images_uint8(n: int, seed: int, shape=(1, 28, 28)) -> torch.Tensor:
    """``n`` seeded random uint8 images, as a dataset stores them."""
    return torch.randint(0, 256, (n, *shape), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def stroke_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """Hand-drawn 1s (vertical strokes) and 0s (rings), in [-1, 1], as a person would draw them."""
    images = torch.full((4, 1, 28, 28), -1.0)
    images[0, 0, 5:23, 13:15] = 1.0
    images[1, 0, 4:24, 14:17] = 1.0
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    for index, (ry, rx) in zip((2, 3), ((8.5, 6.0), (9.0, 7.0)), strict=True):
        radius = (((yy - 13.5) / ry) ** 2 + ((xx - 13.5) / rx) ** 2).sqrt()
        images[index, 0][(radius > 0.75) & (radius < 1.05)] = 1.0
    return images, torch.tensor([1, 1, 0, 0])


def inject_os_error(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int) -> None:
    """``os.open`` and ``os.mkdir`` fail with ``code`` for anything inside ``folder``."""
    real_open, real_mkdir = os.open, os.mkdir
    inside = str(folder) + os.sep

    def fail_inside(real):
        def call(path, *args, **kwargs):
            if os.fspath(path).startswith(inside):
                raise OSError(code, os.strerror(code), os.fspath(path))
            return real(path, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "open", fail_inside(real_open))
    monkeypatch.setattr(os, "mkdir", fail_inside(real_mkdir))


# ---------------------------------------------------------------- the FID Inception with random weights


def fid_inception_random_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights of the FID Inception's shapes, scaled so that activations stay of order one through
    all its layers (He-scaled convolutions, batch norms near identity): features of real magnitude to compare."""
    from ganzoo_plugins.extractors.fid_inception_net import FIDInceptionNet

    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, value in FIDInceptionNet().state_dict().items():
        if name.endswith("num_batches_tracked"):  # the published file has none either
            continue
        if name.endswith(("running_var", "bn.weight")):
            state[name] = torch.rand(value.shape, generator=generator) + 0.5
        elif name.endswith(("running_mean", "bn.bias", "fc.bias")):
            state[name] = torch.randn(value.shape, generator=generator) * 0.1
        else:
            state[name] = torch.randn(value.shape, generator=generator) * (2.0 / value[0].numel()) ** 0.5
    return state


# ---------------------------------------------------------------- a real browser (the gallery, the docs site)
def chromium() -> str:
    """The browser; missing, the test fails (``.ci/run`` installs it), it never skips."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("the gallery's browser test needs Chromium: apt-get install chromium (.ci/run installs it)")


def browse(page: Path, *flags: str) -> str:
    """Open ``page`` from file:// in headless Chromium with a fresh profile; its stdout."""
    with tempfile.TemporaryDirectory(prefix="ganzoo-chromium-") as profile:
        command = [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--hide-scrollbars", f"--user-data-dir={profile}", *flags, page.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(HTMLParser):
    """What the rendered DOM says: the body's attributes, every <img>'s, the title, the models listed."""

    def __init__(self, text: str):
        super().__init__()
        self.body: dict[str, str | None] = {}
        self.images: list[dict[str, str | None]] = []
        self.models: list[str] = []
        self.title = ""
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "body":
            self.body = values
        elif tag == "img":
            self.images.append(values)
        elif tag == "section" and values.get("data-model"):
            self.models.append(str(values["data-model"]))
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False
