"""A tiny plugin for the ``ganzoo.load`` tests: ``toy-gan`` with weights on a real HTTP server and in a package.

The fixtures ``server`` and ``toy`` are offered to every test by conftest.py. Every branch of weights
resolution (download, cache, package, hash check, truncation) runs offline and in milliseconds.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import math
import shutil
import sys
import threading
import types
import uuid
from pathlib import Path

import pytest
import torch
from helpers import plugin_object
from torch import nn

import ganzoo
from ganzoo.cards.folder import write_generator_weights
from ganzoo.io.paths import cache_dir

# ---------------------------------------------------------------------------------------------
# A tiny test plugin


class ToyGenerator(nn.Module):
    def __init__(self, latent_dim: int = 8, width: int = 16, sample_shape=(1, 4, 4), num_classes=None):
        super().__init__()
        self.latent_dim = latent_dim
        self.sample_shape = tuple(sample_shape)
        self.num_classes = num_classes
        self.embedding = nn.Embedding(num_classes, latent_dim) if num_classes else None
        self.net = nn.Sequential(
            nn.Linear(latent_dim, width),
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Linear(width, math.prod(self.sample_shape)),
            nn.Tanh(),
        )

    def forward(self, z, labels=None):
        if self.embedding is not None:
            z = z + 3 * self.embedding(labels)
        return self.net(z).reshape(-1, *self.sample_shape)


class ToyDiscriminator(nn.Module):
    def __init__(self, sample_shape=(1, 4, 4), num_classes=None):
        super().__init__()
        self.num_classes = num_classes
        self.net = nn.Linear(math.prod(sample_shape), 1)

    def forward(self, x, labels=None):
        return self.net(x.flatten(1)).flatten()


TOY_CONFIG = {"latent_dim": 8, "width": 16, "sample_shape": (1, 4, 4)}


def toy_generator(seed: int, **config) -> ToyGenerator:
    torch.manual_seed(seed)
    generator = ToyGenerator(**{**TOY_CONFIG, **config})
    with torch.no_grad():  # non-trivial BatchNorm statistics, so eval mode matters
        generator.net[1].running_mean.uniform_(-0.5, 0.5)
        generator.net[1].running_var.uniform_(0.5, 2.0)
    return generator.eval()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A real HTTP server on 127.0.0.1 serving ``root``; ``requests`` records each GET path."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield types.SimpleNamespace(
            root=root, url=f"http://127.0.0.1:{httpd.server_address[1]}", requests=httpd.requests
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def toy(tmp_path, server, monkeypatch, use_plugins):
    """Registers ``toy-gan`` (weights on the server and in a package) and ``toy-cgan`` beside the built-ins."""
    www = server.root
    reference = toy_generator(seed=1)
    write_generator_weights(www / "toy-web.safetensors", reference, model="toy-gan", config=TOY_CONFIG)
    write_generator_weights(
        www / "toy-wide.safetensors", toy_generator(seed=2, width=32), model="toy-gan", config=TOY_CONFIG
    )
    good = www / "toy-web.safetensors"
    (www / "toy-truncated.safetensors").write_bytes(good.read_bytes()[:-100])

    package_name = f"ganzoo_test_weights_{uuid.uuid4().hex[:8]}"  # a module is imported once per process
    package = tmp_path / "pkgs" / package_name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    packaged = toy_generator(seed=3)
    write_generator_weights(package / "toy.safetensors", packaged, model="toy-gan", config=TOY_CONFIG)
    shutil.copy(good, package / "tampered.safetensors")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))

    def weights(tag, **fields):
        return ganzoo.WeightsSpec(tag=tag, dataset="toy", config=TOY_CONFIG, **fields)

    web = server.url + "/toy-web.safetensors"
    specs = [
        ganzoo.ModelSpec(
            name="toy-gan",
            summary="A toy model for the hub tests.",
            generator=ToyGenerator,
            discriminator=ToyDiscriminator,
            config=TOY_CONFIG,
            options={"width": int},
            weights=(
                # the packaged file of this entry is absent, so it is downloaded
                weights("web", sha256=sha256(good), package="ganzoo_plugins.weights",
                        filename="toy-gan.web-absent.safetensors", url=web),
                weights("badhash", sha256="0" * 64, url=web),
                weights("packaged", sha256=sha256(package / "toy.safetensors"),
                        package=package_name, filename="toy.safetensors"),
                # a packaged file that is not the one the registry's hash describes
                weights("tampered", sha256=sha256(package / "toy.safetensors"), package=package_name,
                        filename="tampered.safetensors"),
                weights("truncated", sha256=sha256(www / "toy-truncated.safetensors"),
                        url=server.url + "/toy-truncated.safetensors"),
                weights("wide", sha256=sha256(www / "toy-wide.safetensors"), url=server.url + "/toy-wide.safetensors"),
                weights("gone", sha256="1" * 64, url=server.url + "/nothing-here.safetensors"),
            ),
            default_weights="web",
        ),
        ganzoo.ModelSpec(
            name="toy-cgan",
            summary="A conditional toy model for the hub tests.",
            generator=ToyGenerator,
            discriminator=ToyDiscriminator,
            config={**TOY_CONFIG, "num_classes": 3},
            conditional=True,
        ),
    ]

    @ganzoo.hookimpl
    def register_models(register):
        for spec in specs:
            register(spec)

    use_plugins(plugin_object(register_models=register_models))
    yield types.SimpleNamespace(
        server=server, reference=reference, packaged=packaged, spec=specs[0], package=package_name
    )
    sys.modules.pop(package_name, None)


def expected_output(generator: nn.Module, z: torch.Tensor, labels=None) -> torch.Tensor:
    with torch.no_grad():
        return generator.eval()(z, labels)


def cache_files() -> list[Path]:
    root = cache_dir()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []

