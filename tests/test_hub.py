"""``ganzoo.load`` / ``create`` / ``save`` and ``ganzoo sample``.

Most tests use a tiny test plugin registered next to the built-ins: its weights are
served by a real HTTP server on 127.0.0.1 (the download path), or sit in a throw-away
package (the packaged path), so that every branch of weights resolution runs offline
and in milliseconds. The registry-wide tests at the end run every installed model.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import math
import shutil
import subprocess
import sys
import threading
import types
import uuid
from pathlib import Path

import pytest
import torch
from helpers import plugin_object
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from typer.testing import CliRunner

import ganzoo
import ganzoo.registry
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError, UnknownNameError, WeightsError
from ganzoo.export import write_generator_weights
from ganzoo.hub import parse_source
from ganzoo.paths import cache_dir
from ganzoo.sampling import slerp
from ganzoo.weights import cached_weights_path

runner = CliRunner()


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


# ---------------------------------------------------------------------------------------------
# Sources are told apart by spelling


@pytest.mark.parametrize(
    ("source", "kind", "value"),
    [
        ("dcgan-mnist", "name", "dcgan-mnist"),
        ("dcgan-mnist.mnist", "name", "dcgan-mnist.mnist"),
        ("./dcgan-mnist", "path", "./dcgan-mnist"),
        ("runs/mnist/export", "path", "runs/mnist/export"),
        ("~/weights.safetensors", "path", "~/weights.safetensors"),
        (".hidden", "path", ".hidden"),
        ("path:dcgan-mnist", "path", "dcgan-mnist"),
        (Path("dcgan-mnist"), "path", "dcgan-mnist"),
        ("https://example.org/w.safetensors", "url", "https://example.org/w.safetensors"),
        ("file:///tmp/export", "url", "file:///tmp/export"),
    ],
)
def test_source_kind_is_decided_by_spelling(source, kind, value):
    parsed = parse_source(source)
    assert (parsed.kind, parsed.value) == (kind, value)


@pytest.mark.parametrize("source", ["", "   ", "path:", "s3://bucket/w.safetensors", 42])
def test_bad_sources_are_refused(source):
    with pytest.raises(ConfigError):
        parse_source(source)


def test_a_folder_named_like_a_model_never_shadows_it(toy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ganzoo.save(ganzoo.create("toy-gan", seed=5), "toy-gan")
    by_name = ganzoo.load("toy-gan")
    assert by_name.weights is not None and by_name.weights.tag == "web"
    by_path = ganzoo.load("./toy-gan")
    assert by_path.weights is None and Path(by_path.source) == Path("toy-gan")
    assert not torch.equal(by_name.sample(4, seed=0), by_path.sample(4, seed=0))
    assert torch.equal(by_path.sample(4, seed=0), ganzoo.load("path:toy-gan").sample(4, seed=0))


def test_mlp_gan_folder_in_cwd_does_not_shadow_the_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gan = ganzoo.create("mlp-gan", seed=0)
    ganzoo.save(gan, "mlp-gan", samples=False)
    from_folder = ganzoo.load("./mlp-gan")
    assert from_folder.weights is None
    assert torch.equal(from_folder.sample(3, seed=1), gan.sample(3, seed=1))
    spec = ganzoo.get_model_spec("mlp-gan")
    if spec.weights:
        assert ganzoo.load("mlp-gan").weights == spec.get_weights()
    else:
        with pytest.raises(WeightsError, match="no pretrained weights"):
            ganzoo.load("mlp-gan")


def test_unknown_names_get_suggestions(toy, tmp_path, monkeypatch):
    with pytest.raises(UnknownNameError, match="Did you mean 'toy-gan'"):
        ganzoo.load("toy-gn")
    with pytest.raises(UnknownNameError, match=r"toy-gan\.web"):
        ganzoo.load("toy-gan.wbe")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-run").mkdir()
    with pytest.raises(UnknownNameError, match=r"load it as './my-run'"):
        ganzoo.load("my-run")


# ---------------------------------------------------------------------------------------------
# Weights resolution: package, cache, download


def test_download_checks_the_hash_and_lands_in_the_cache(toy):
    loaded = ganzoo.load("toy-gan")
    assert toy.server.requests == ["/toy-web.safetensors"]
    cached = cached_weights_path(toy.spec, toy.spec.get_weights("web"))
    assert cached.is_file() and cache_files() == [cached]
    assert loaded.source == str(cached)
    z = loaded.latents(5, seed=0)
    assert torch.equal(loaded.decode(z), expected_output(toy.reference, z))

    again = ganzoo.load("toy-gan.web")  # a cache hit: no second request
    assert toy.server.requests == ["/toy-web.safetensors"]
    assert torch.equal(again.sample(5, seed=0), loaded.sample(5, seed=0))


def test_a_bad_hash_is_an_error_and_the_file_is_not_kept(toy):
    with pytest.raises(WeightsError) as failure:
        ganzoo.load("toy-gan.badhash")
    message = str(failure.value)
    assert "0" * 64 in message and toy.spec.get_weights("web").sha256 in message
    assert "discarded" in message
    assert toy.server.requests == ["/toy-web.safetensors"]
    assert cache_files() == []


def test_cache_dir_option_and_environment(toy, tmp_path, monkeypatch):
    ganzoo.load("toy-gan", cache_dir=tmp_path / "mine")
    assert (tmp_path / "mine" / cached_weights_path(toy.spec, toy.spec.get_weights()).name).is_file()
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "env"))
    ganzoo.load("toy-gan")
    assert len(list((tmp_path / "env").glob("*.safetensors"))) == 1
    assert len(toy.server.requests) == 2


def test_offline_without_a_cached_file_is_an_error(toy):
    with pytest.raises(WeightsError, match="not packaged and not in the cache"):
        ganzoo.load("toy-gan", download=False)
    assert toy.server.requests == []


def test_a_damaged_cached_file_is_fetched_again(toy):
    cached = cached_weights_path(toy.spec, toy.spec.get_weights())
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the weights")
    with pytest.raises(WeightsError, match="fail their sha256 check"):
        ganzoo.load("toy-gan", download=False)
    ganzoo.load("toy-gan")
    assert sha256(cached) == toy.spec.get_weights().sha256
    assert toy.server.requests == ["/toy-web.safetensors"]


def test_a_missing_url_is_a_clear_error(toy):
    with pytest.raises(WeightsError, match="HTTP 404"):
        ganzoo.load("toy-gan.gone")
    assert cache_files() == []


def test_packaged_weights_come_first_and_are_hash_checked(toy):
    loaded = ganzoo.load("toy-gan.packaged")
    assert loaded.source == f"{toy.package}/toy.safetensors"
    assert toy.server.requests == [] and cache_files() == []
    z = loaded.latents(3, seed=4)
    assert torch.equal(loaded.decode(z), expected_output(toy.packaged, z))
    with pytest.raises(WeightsError, match=r"tampered.safetensors has sha256 [0-9a-f]{64} but the registry expects"):
        ganzoo.load("toy-gan.tampered")


def test_a_truncated_file_is_a_clear_error(toy, tmp_path):
    with pytest.raises(WeightsError, match="is not a readable safetensors file"):
        ganzoo.load("toy-gan.truncated")
    data = (toy.server.root / "toy-web.safetensors").read_bytes()
    for name, content in [("short.safetensors", data[:5]), ("cut.safetensors", data[: len(data) // 2]),
                          ("noise.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(WeightsError, match=rf"{name} is not a readable safetensors file"):
            ganzoo.load(tmp_path / name)


def test_a_truncated_export_folder_is_a_clear_error(tmp_path):
    folder = ganzoo.save(ganzoo.create("dcgan-mnist", width=4, seed=0), tmp_path / "run" / "export", samples=False)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-64])
    with pytest.raises(WeightsError, match=r"model\.safetensors is corrupt or truncated"):
        ganzoo.load(tmp_path / "run")


def test_a_file_for_another_configuration_names_the_tensor_and_both_shapes(toy):
    with pytest.raises(WeightsError) as failure:
        ganzoo.load("toy-gan.wide")
    assert "tensor 'generator.net.0.weight' has shape (32, 8)" in str(failure.value)
    assert "model expects (16, 8): the file is for a different configuration" in str(failure.value)


def test_wrong_architecture_for_a_builtin_model(tmp_path):
    folder = ganzoo.save(ganzoo.create("dcgan-mnist", width=8), tmp_path / "w8", samples=False)
    document = json.loads((folder / "config.json").read_text())
    document["config"]["width"] = 4
    (folder / "config.json").write_text(json.dumps(document))
    with safe_open(str(folder / "model.safetensors"), framework="pt") as handle:
        metadata = handle.metadata()
    metadata["config"] = json.dumps(document["config"])  # both records of the export now say width=4
    save_file(load_file(str(folder / "model.safetensors")), str(folder / "model.safetensors"), metadata=metadata)
    with pytest.raises(WeightsError) as failure:
        ganzoo.load(folder)
    message = str(failure.value)
    assert "tensor 'generator.net.0.weight' has shape (100, 32, 4, 4)" in message
    assert "the model expects (100, 16, 4, 4)" in message


def test_missing_and_unexpected_tensors_are_listed(tmp_path):
    gan = ganzoo.create("dcgan-mnist", width=4)
    path = write_generator_weights(tmp_path / "w.safetensors", gan.generator, model="dcgan-mnist",
                                   config=gan.config)
    tensors = load_file(str(path))
    tensors.pop("generator.net.1.weight")
    tensors["generator.extra.bias"] = torch.zeros(3)
    metadata = {"format": "ganzoo", "model": "dcgan-mnist", "config": json.dumps({"width": 4})}
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=metadata)
    expected = r"lacks 1 tensors .*'generator\.net\.1\.weight'.* has 1 .*'generator\.extra\.bias'"
    with pytest.raises(WeightsError, match=expected):
        ganzoo.load(tmp_path / "bad.safetensors")


def test_float16_weights_are_upcast(toy, tmp_path):
    write_generator_weights(tmp_path / "half.safetensors", toy.reference, model="toy-gan", config=TOY_CONFIG,
                            dtype=torch.float16)
    assert load_file(str(tmp_path / "half.safetensors"))["generator.net.0.weight"].dtype == torch.float16
    loaded = ganzoo.load(tmp_path / "half.safetensors")
    assert all(p.dtype == torch.float32 for p in loaded.generator.parameters())
    z = loaded.latents(8, seed=0)
    torch.testing.assert_close(loaded.decode(z), expected_output(toy.reference, z), atol=2e-2, rtol=0)


# ---------------------------------------------------------------------------------------------
# URLs


def test_url_sources(toy, tmp_path):
    registered = ganzoo.load(toy.server.url + "/toy-web.safetensors")  # a registry entry's URL: its hash
    assert registered.weights is not None and registered.weights.tag == "web"

    write_generator_weights(toy.server.root / "other.safetensors", toy_generator(seed=9), model="toy-gan",
                            config=TOY_CONFIG)
    digest = sha256(toy.server.root / "other.safetensors")
    url = toy.server.url + "/other.safetensors"
    with pytest.raises(WeightsError, match="was expected; the file was discarded"):
        ganzoo.load(url, sha256="a" * 64)
    loaded = ganzoo.load(f"{url}#sha256={digest}")
    assert loaded.weights is None and loaded.spec.name == "toy-gan"
    requests = len(toy.server.requests)
    ganzoo.load(url, download=False)  # now cached under its URL
    assert len(toy.server.requests) == requests

    folder = ganzoo.save(loaded, tmp_path / "exported", samples=False)
    from_file_url = ganzoo.load(folder.resolve().as_uri())
    assert torch.equal(from_file_url.sample(3, seed=2), loaded.sample(3, seed=2))


# ---------------------------------------------------------------------------------------------
# Sampling


def test_sampling_is_reproducible_and_leaves_the_global_rng_alone(toy):
    loaded = ganzoo.load("toy-gan.packaged")
    assert not loaded.generator.training
    torch.manual_seed(123)
    first = loaded.sample(10, seed=7)
    after = torch.rand(3)
    torch.manual_seed(123)
    second = loaded.sample(10, seed=7)
    assert torch.equal(first, second) and torch.equal(after, torch.rand(3))
    torch.testing.assert_close(loaded.sample(10, seed=7, batch_size=3), first)  # same latents, other batching
    assert first.shape == (10, 1, 4, 4) and first.abs().max() <= 1
    assert not torch.equal(first, loaded.sample(10, seed=8))
    assert not torch.equal(loaded.sample(4), loaded.sample(4))  # no seed: fresh samples
    with pytest.raises(ConfigError, match="n must be a positive integer"):
        loaded.sample(0)
    with pytest.raises(ConfigError, match="unconditional"):
        loaded.sample(2, labels=[0, 1])


def test_truncation_redraws_large_latents(toy):
    loaded = ganzoo.load("toy-gan.packaged")
    z = loaded.latents(500, seed=0, truncation=0.5)
    assert z.abs().max() <= 0.5 and z.abs().max() > 0.45
    assert torch.equal(z, loaded.latents(500, seed=0, truncation=0.5))
    assert loaded.sample(4, seed=0, truncation=1.0).shape == (4, 1, 4, 4)
    for bad in (0, -1.0, "1"):
        with pytest.raises(ConfigError, match="truncation"):
            loaded.latents(2, truncation=bad)


def test_conditional_labels_are_respected_and_validated(toy):
    gan = ganzoo.create("toy-cgan", seed=0)
    assert gan.num_classes == 3
    twos = gan.sample(4, seed=0, labels=2)
    assert twos.shape == (4, 1, 4, 4)
    assert not torch.equal(twos, gan.sample(4, seed=0, labels=1))
    mixed = gan.sample(4, seed=0, labels=[2, 2, 1, 1])
    assert torch.equal(mixed[:2], twos[:2])
    assert torch.equal(mixed, gan.sample(4, seed=0, labels=torch.tensor([2, 2, 1, 1])))
    assert gan.class_labels(7).tolist() == [0, 1, 2, 0, 1, 2, 0]  # None: every class in turn
    for labels, message in [(3, "label 3 is out of range"), ([0, -1], "label -1 is out of range"),
                            ([0, 1, 2], "got 3 labels for 2 samples"), ([0.5, 1], "integer class"),
                            (torch.tensor([0.0, 1.0]), "integer class"), ("01", "labels must be")]:
        with pytest.raises(ConfigError, match=message):
            gan.sample(2, labels=labels)


def test_interpolation_runs_between_the_seeds_latents(toy):
    loaded = ganzoo.load("toy-gan.packaged")
    path = loaded.interpolate(3, 4, steps=6)
    assert path.shape == (6, 1, 4, 4)
    torch.testing.assert_close(path[0], loaded.sample(1, seed=3)[0])
    torch.testing.assert_close(path[-1], loaded.sample(1, seed=4)[0])
    a, b = torch.randn(8), torch.randn(8)
    arc = slerp(a, b, 5)
    torch.testing.assert_close(arc[0], a)
    torch.testing.assert_close(arc[-1], b)
    assert arc[2].norm() > ((a + b) / 2).norm()  # the arc keeps away from the low-norm interior
    assert loaded.interpolate(a, b, steps=3).shape == (3, 1, 4, 4)
    with pytest.raises(ConfigError, match="latent vector of 8 values"):
        loaded.interpolate(torch.zeros(5), 1)
    gan = ganzoo.create("toy-cgan")
    with pytest.raises(ConfigError, match="conditional"):
        gan.interpolate(0, 1)
    assert gan.interpolate(0, 1, steps=4, labels=2).shape == (4, 1, 4, 4)


def test_wrapper_facts_and_repr(toy):
    loaded = ganzoo.load("toy-gan.packaged")
    assert (loaded.latent_dim, loaded.num_classes, loaded.sample_shape) == (8, None, (1, 4, 4))
    assert loaded.spec.name == "toy-gan" and loaded.weights.tag == "packaged"
    assert loaded.config["width"] == 16 and loaded.card is None
    assert isinstance(loaded.generator, ToyGenerator)
    assert loaded.to("cpu") is loaded and loaded.device.type == "cpu"
    assert repr(loaded).startswith("PretrainedGenerator('toy-gan.packaged', latent_dim=8")
    with pytest.raises(ConfigError, match="device"):
        loaded.to("tpu")


# ---------------------------------------------------------------------------------------------
# create and save


def test_create_builds_untrained_models_from_the_registry():
    gan = ganzoo.create("dcgan-mnist", width=8, seed=0)
    assert gan.generator.training and gan.config["width"] == 8 and gan.dataset == "mnist"
    assert torch.equal(gan.sample(2, seed=1), ganzoo.create("dcgan-mnist", width=8, seed=0).sample(2, seed=1))
    assert gan.generator.training  # sampling switched to eval mode only while drawing
    assert gan.discriminator(gan.sample(2, seed=0)).shape == (2,)
    assert ganzoo.create("dcgan-mnist", width="8").config["width"] == 8  # command-line strings are converted
    with pytest.raises(ConfigError, match="accepts: latent_dim, width"):
        ganzoo.create("dcgan-mnist", widht=8)
    big = ganzoo.create("dcgan-faces", image_size=128, ngf=4, ndf=4)
    assert big.config["latent_dim"] == 200 and big.sample_shape == (3, 128, 128)  # the image_size=128 preset
    with pytest.raises(ConfigError, match="one of 64, 128"):
        ganzoo.create("dcgan-faces", image_size=96)
    with pytest.raises(ConfigError):
        ganzoo.create("dcgan-mnist", dataset="ring-8")
    points = ganzoo.create("mlp-gan", dataset="ring-8")
    assert points.sample_shape == (2,) and points.sample(5, seed=0).shape == (5, 2)
    with pytest.raises(UnknownNameError, match="Did you mean 'dcgan-mnist'"):
        ganzoo.create("dcgan-mnst")


def test_save_and_load_round_trip(tmp_path):
    gan = ganzoo.create("cgan-mnist", seed=0)
    folder = ganzoo.save(gan, tmp_path / "run" / "export")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors", "samples.png"]
    assert any(key.startswith("discriminator.") for key in load_file(str(folder / "model.safetensors")))
    loaded = ganzoo.load(tmp_path / "run")  # a training output folder holding export/
    assert loaded.card.startswith("---") and loaded.config == gan.config
    assert torch.equal(loaded.sample(10, seed=0), gan.sample(10, seed=0))

    again = ganzoo.save(loaded, tmp_path / "generator-only")
    assert not any(key.startswith("discriminator.") for key in load_file(str(again / "model.safetensors")))
    assert json.loads((again / "config.json").read_text())["model"] == "cgan-mnist"
    assert torch.equal(ganzoo.load(again).sample(10, seed=0), gan.sample(10, seed=0))
    with pytest.raises(WeightsError, match="not an export folder"):
        ganzoo.load(tmp_path)
    with pytest.raises(WeightsError, match="no such file or folder"):
        ganzoo.load(tmp_path / "nowhere")
    with pytest.raises(ConfigError):
        ganzoo.save(gan.generator, tmp_path / "x")
    with pytest.raises(ConfigError, match="already holds an export"):
        ganzoo.save(gan, folder)
    ganzoo.save(ganzoo.create("cgan-mnist", seed=1), folder, overwrite=True, samples=False)
    assert not torch.equal(ganzoo.load(folder).sample(2, seed=0), gan.sample(2, seed=0))


# ---------------------------------------------------------------------------------------------
# ganzoo sample


def test_sample_command_writes_grid_tensor_and_individual_images(toy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = build_app()
    result = runner.invoke(app, ["sample", "toy-gan.packaged", "-n", "6", "-o", "grid.png", "--seed", "3",
                                 "--tensor", "out.safetensors", "--save-individual", "each"])
    assert result.exit_code == 0, result.output
    assert "wrote 6 images from toy-gan.packaged (seed 3) to grid.png" in result.output
    assert Image.open("grid.png").size == (2 * (3 * 6 + 2), 2 * (2 * 6 + 2))  # 3 per row, 4x4 + padding, x2
    saved = load_file("out.safetensors")
    assert torch.equal(saved["samples"], ganzoo.load("toy-gan.packaged").sample(6, seed=3))
    assert sorted(p.name for p in Path("each").iterdir())[:2] == ["0000.png", "0001.png"]
    assert Image.open("each/0000.png").size == (4, 4)

    ganzoo.save(ganzoo.create("toy-cgan", seed=0), "toy-cgan")
    result = runner.invoke(app, ["sample", "./toy-cgan", "-n", "4", "--labels", "2,0", "-o", "c.png", "--seed",
                                 "0", "--tensor", "c.safetensors"])
    assert result.exit_code == 0, result.output
    assert load_file("c.safetensors")["labels"].tolist() == [2, 0, 2, 0]
    result = runner.invoke(app, ["sample", "path:toy-cgan", "--interpolate", "-n", "8", "--nrow", "4",
                                 "--tensor", "i.safetensors", "-o", "i.png"])
    assert result.exit_code == 0, result.output
    assert load_file("i.safetensors")["labels"].tolist() == [0] * 4 + [1] * 4  # one class per row

    ganzoo.save(ganzoo.create("mlp-gan", dataset="ring-8", seed=0), "ring", samples=False)
    result = runner.invoke(app, ["sample", "./ring", "-n", "50", "-o", "ring.png", "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert Image.open("ring.png").size[0] > 100  # a scatter plot of the points, not a grid of 1-pixel images
    result = runner.invoke(app, ["sample", "./ring", "--save-individual", "each-point"])
    assert result.exit_code == 1 and "needs an image model" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["toy-gn"], "unknown model 'toy-gn'"),
        (["toy-cgan"], "has no pretrained weights yet"),
        (["toy-gan.packaged", "--labels", "1"], "unconditional"),
        (["toy-gan.packaged", "--labels", "x"], "--labels takes comma-separated"),
        (["toy-gan.packaged", "--truncation", "-1"], "truncation must be a positive number"),
        (["./missing"], "no such file or folder"),
    ],
)
def test_sample_command_errors_are_one_line(toy, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(build_app(), ["sample", *args, "-o", "x.png"])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not Path("x.png").exists()


def test_sample_console_script_writes_a_png_without_torchvision_or_the_trainer(tmp_path):
    ganzoo.save(ganzoo.create("dcgan-mnist", width=4, seed=0), tmp_path / "run" / "export", samples=False)
    script = Path(sys.executable).parent / "ganzoo"
    done = subprocess.run([str(script), "sample", str(tmp_path / "run"), "-n", "9", "-o",
                           str(tmp_path / "digits.png"), "--seed", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "digits.png").size == (2 * (3 * 30 + 2),) * 2
    probe = (
        "import sys\nfrom ganzoo.cli.app import main\n"
        f"try:\n    main(['sample', {str(tmp_path / 'run')!r}, '-n', '4', '-o', {str(tmp_path / 'p.png')!r}])\n"
        "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print(sorted(m for m in sys.modules if m.startswith(('torchvision', 'ganzoo.training.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


# ---------------------------------------------------------------------------------------------
# Every model in the registry


def _check_sampling(model, name: str) -> None:
    first = model.sample(4, seed=0)
    assert torch.equal(first, model.sample(4, seed=0)), name
    assert first.shape == (4, *model.sample_shape), name
    assert torch.isfinite(first).all() and first.abs().max() <= 1, name
    if model.num_classes:
        labelled = model.sample(3, seed=0, labels=[model.num_classes - 1] * 3)
        assert labelled.shape == (3, *model.sample_shape)
        with pytest.raises(ConfigError):
            model.sample(2, labels=model.num_classes)


@pytest.mark.parametrize("name", ganzoo.list_models())
def test_every_registered_model_loads_or_builds_and_samples(name):
    spec = ganzoo.get_model_spec(name)
    if not spec.weights:  # no pretrained weights (yet): the same wrapper over an untrained model
        _check_sampling(ganzoo.create(name, seed=0), name)
        return
    for weights in spec.weights:
        loaded = ganzoo.load(f"{name}.{weights.tag}", download=False)
        assert weights.filename and loaded.source == f"{weights.package}/{weights.filename}", "not packaged"
        assert loaded.weights == weights and loaded.spec == spec
        _check_sampling(loaded, f"{name}.{weights.tag}")
