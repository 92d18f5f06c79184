"""What issue 30's plugin author met in the contract: a correct ResNet failed ``train`` because the trainer's
channels-last network was compared with a contiguous reload; a relativistic loss's cancelled bias could not be
declared; models could not be checked at a smaller width; ``--memory-format`` lets a user choose the layout.

The SNGAN fixture (tests/sngan_plugin.py) is a third-party plugin as an author writes one; the small plugins
below each break one rule.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import tiny_mnist_root
from typer.testing import CliRunner

import ganzoo
import ganzoo.testing
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.testing import ContractError
from ganzoo.training import TrainConfig, Trainer, train
from ganzoo.training.checkpoint import load_checkpoint


@pytest.fixture
def sngan(use_plugins) -> str:
    use_plugins("sngan_plugin")
    return "sngan-plugin"


def run_check(plugin: str, model: str, aspect: str, tmp_path, options=None) -> None:
    checks = ganzoo.testing.contract_checks(plugin, model_options={model: options} if options else None)
    next(c for c in checks if c.id == f"model:{model}:{aspect}")(tmp_path)


def test_a_resnet_with_spectral_norm_passes_the_whole_contract(sngan, tmp_path):
    """At this width the trainer's channels-last ResNet and its contiguous reload differ by about 1.8e-6, which
    the check used to call a missing constructor argument; it now compares them in the same layout."""
    checks = [c for c in ganzoo.testing.contract_checks(sngan) if c.name == "sngan-fixture"]
    assert [c.aspect for c in checks] == ["build", "datasets", "gradients", "train", "practices"]
    for check in checks:
        check(tmp_path / check.aspect)


LAYOUT = '''
import torch
from torch import nn
import ganzoo


class Generator(nn.Module):
    """A conv net whose samples move by 3e-6 with its memory layout: rounding in another summation order, made
    certain here (a real ResNet's change depends on the CPU's kernels). ``kind`` breaks it on purpose:
    ``jitter`` adds a tiny tensor that is not in the weights, ``foreign`` a large one."""

    num_classes = None

    def __init__(self, kind="sound"):
        super().__init__()
        self.latent_dim, self.sample_shape = 4, (1, 4, 4)
        self.net, self.conv = nn.Linear(4, 16), nn.Conv2d(1, 1, 1)
        scale = {"sound": 0.0, "jitter": 2e-5, "foreign": 0.5}[kind]
        self.register_buffer("extra", torch.rand(1, 1, 4, 4) * scale, persistent=False)

    def forward(self, z, labels=None):
        x = self.conv(self.net(z).reshape(-1, 1, 4, 4))
        if self.conv.weight.is_contiguous(memory_format=torch.channels_last) and not self.conv.weight.is_contiguous():
            x = x + 3e-6
        return torch.tanh(x) * 0.5 + self.extra


class Discriminator(nn.Module):
    num_classes = None

    def __init__(self):
        super().__init__()
        self.conv, self.net = nn.Conv2d(1, 2, 1), nn.Linear(32, 1)

    def forward(self, x, labels=None):
        return self.net(torch.relu(self.conv(x)).flatten(1)).flatten()


def load(split="train"):
    return ganzoo.data.SampleSet((torch.rand(16, 1, 4, 4) * 255).to(torch.uint8), name="tiles")


def model(name, unchanged_under=None, **config):
    return ganzoo.ModelSpec(name=name, summary="", generator=Generator, discriminator=Discriminator, config=config,
                            default_dataset="tiles", sample_shapes=("1x4x4",), unchanged_under=unchanged_under or {})


@ganzoo.hookimpl
def register_models(register):
    register(model("layout-sensitive"))
    register(model("jittery", kind="jitter"))
    register(model("foreign", kind="foreign"))
    register(model("misdeclared-still", unchanged_under={"hinge": ("discriminator.nett.bias",)}))


@ganzoo.hookimpl
def register_datasets(register):
    register(ganzoo.DatasetSpec(name="tiles", summary="", loader=load, sample_shape=(1, 4, 4), channels=1,
                                embedded=True))
'''


@pytest.fixture
def layout(plugin_module, use_plugins) -> str:
    module = plugin_module(LAYOUT)
    use_plugins(module)
    return module.replace("_", "-")


def test_the_reload_is_compared_in_the_same_memory_layout(layout, tmp_path):
    trainer = Trainer(TrainConfig("layout-sensitive", steps=1, batch_size=4, device="cpu", quiet=True,
                                  out=tmp_path / "probe"))
    assert trainer.prepare().state.batches.channels_last  # the trainer does convert it, so layouts differ
    run_check(layout, "layout-sensitive", "train", tmp_path)


def test_the_failure_says_whether_the_difference_is_rounding_or_another_function(layout, tmp_path):
    with pytest.raises(ContractError) as caught:
        run_check(layout, "jittery", "train", tmp_path / "a")
    message = str(caught.value)
    assert "rounding-sized, though both hold the same weights in the same memory layout" in message
    assert "a non-persistent buffer" in message and "constructor argument" not in message
    with pytest.raises(ContractError) as caught:
        run_check(layout, "foreign", "train", tmp_path / "b")
    message = str(caught.value)
    assert "it computes another function; is every constructor argument in the spec's config" in message
    assert "rounding" not in message


# --- --memory-format -------------------------------------------------------------------------------------------


def test_memory_format_is_chosen_recorded_and_kept_on_resume(tmp_path):
    root = tiny_mnist_root(tmp_path / "data", count=16)
    settings = dict(dataset="mnist", data_dir=root, batch_size=8, device="cpu", quiet=True, checkpoint_every=1,
                    sample_every=100, num_samples=4)
    auto = train(TrainConfig("cnn-gan", steps=1, out=tmp_path / "auto", **settings))
    assert json.loads((auto.export_dir / "config.json").read_text())["training"]["memory_format"] == "channels-last"
    plain = Trainer(TrainConfig("cnn-gan", steps=1, out=tmp_path / "plain", memory_format="contiguous", **settings))
    plain.run()
    assert not plain.state.batches.channels_last
    assert all(p.is_contiguous() for p in plain.generator.parameters())
    record = load_checkpoint(plain.state.paths.checkpoint)["run"]
    assert record["memory_format"] == "contiguous"
    resumed = Trainer(TrainConfig("cnn-gan", steps=2, out=tmp_path / "plain", resume=True, **settings))
    resumed.run()  # not given: the run's own layout
    assert not resumed.state.batches.channels_last
    training = json.loads((tmp_path / "plain" / "export" / "config.json").read_text())["training"]
    assert training["memory_format"] == "contiguous"


def test_memory_format_words_are_checked_in_one_line(tmp_path):
    done = CliRunner().invoke(build_app(), ["train", "mlp-gan", "--dataset", "ring-8", "--out", str(tmp_path / "r"),
                                            "-q", "--memory-format", "sideways"])
    assert done.exit_code == 1
    assert done.output.strip() == ("error: --memory-format must be one of auto, channels-last, contiguous, "
                                   "got 'sideways'")
    with pytest.raises(ConfigError, match=r"channels-last needs images .* these samples have 1"):
        Trainer(TrainConfig("mlp-gan", dataset="ring-8", steps=1, device="cpu", quiet=True, out=tmp_path / "p",
                            memory_format="channels_last")).prepare()


def test_the_lightning_module_follows_memory_format():
    from ganzoo.lightning import GANModule

    assert GANModule("cnn-gan", batch_size=8).channels_last
    gan = GANModule("cnn-gan", batch_size=8, memory_format="contiguous")
    assert not gan.channels_last and all(p.is_contiguous() for p in gan.generator.parameters())


# --- parameters a loss leaves unchanged ---------------------------------------------------------------------------


def test_a_declared_parameter_may_stay_unchanged_and_an_undeclared_one_fails(sngan, tmp_path):
    small = {"widths": "16,8"}
    run_check(sngan, "sngan-relativistic", "train", tmp_path / "declared", small)
    with pytest.raises(ContractError) as caught:
        run_check(sngan, "sngan-undeclared", "train", tmp_path / "undeclared", small)
    message = str(caught.value)
    assert "2 training steps with loss 'relativistic' left discriminator.linear.bias unchanged" in message
    assert "declare it: ModelSpec(unchanged_under={'relativistic': ('discriminator.linear.bias',)})" in message


def test_unchanged_under_must_name_real_parameters(layout, tmp_path):
    with pytest.raises(ContractError, match=r"unchanged_under\['hinge'\] names 'discriminator.nett.bias', which is "
                                            r"not a parameter of the networks \(some discriminator parameters: "):
        run_check(layout, "misdeclared-still", "train", tmp_path)
    with pytest.raises(ConfigError, match=r"name a parameter as generator.NAME or discriminator.NAME"):
        ganzoo.ModelSpec(name="x", summary="", generator="a:b", discriminator="a:b",
                         unchanged_under={"hinge": ("linear.bias",)})


# --- smaller model options --------------------------------------------------------------------------------------


def test_the_contract_takes_smaller_model_options_checked_by_the_models_declaration(sngan, tmp_path, monkeypatch):
    built = []
    original = __import__("sngan_plugin").Generator.__init__

    def spy(self, latent_dim=32, widths="128,64"):
        built.append(widths)
        original(self, latent_dim, widths)

    monkeypatch.setattr("sngan_plugin.Generator.__init__", spy)
    ganzoo.testing.check_model("sngan-fixture", out=tmp_path, options={"widths": "16,8"})
    assert built and set(built) == {"16,8"}  # every aspect built the smaller model
    config = json.loads((tmp_path / "sngan-fixture" / "export" / "config.json").read_text())
    assert config["config"]["widths"] == "16,8"
    checks = ganzoo.testing.contract_checks(sngan, model_options={"sngan-fixture": {"widths": "16,8"}})
    assert {c.options["widths"] for c in checks if c.name == "sngan-fixture"} == {"16,8"}
    assert all(c.options is None for c in checks if c.name != "sngan-fixture")
    with pytest.raises(ConfigError, match=r"depth"):
        ganzoo.testing.check_model("sngan-fixture", options={"depth": 3})
    with pytest.raises(GanzooError, match=r"model_options names mlp-gan, not a model of 'sngan-plugin'"):
        ganzoo.testing.contract_checks(sngan, model_options={"mlp-gan": {}})


# --- packaged weights and cards -----------------------------------------------------------------------------------

WEIGHTS_FIXTURE = Path(__file__).parent / "fixtures" / "ganzoo-fixture-weights"
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins" / "tutorial.md"


def package_data_block() -> str:
    """The plugin tutorial's (docs/plugins/tutorial.md) pyproject.toml lines that ship the weights and cards folders."""
    found = re.search(r"<!-- package-data: pyproject.toml -->\n```toml\n(.*?)```\n", GUIDE.read_text(), re.DOTALL)
    assert found, "docs/plugins/tutorial.md lost its package-data block"
    return found[1]


def wheel_of(work: Path, setuptools_lines: str) -> tuple[Path, Path]:
    """Build the fixture plugin's wheel with ``setuptools_lines`` as its packaging, install it into a private
    folder; the wheel and the folder."""
    source = work / "src"
    shutil.copytree(WEIGHTS_FIXTURE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    head = (source / "pyproject.toml").read_text().split("[tool.setuptools]", 1)[0]
    (source / "pyproject.toml").write_text(head + setuptools_lines)
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--skip-dependency-check",
                            "--outdir", str(work / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (work / "dist").glob("*.whl")
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                                "--disable-pip-version-check", "--target", str(work / "site"), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    return wheel, work / "site"


WEIGHTS_CHECK = ("import ganzoo.testing\n"
                 "[c() for c in ganzoo.testing.contract_checks('fixture-weights') if c.aspect == 'weights']\n"
                 "print('weights check passed')")


def test_the_documented_package_data_ships_the_weights_and_a_bare_wheel_is_caught(tmp_path):
    documented = package_data_block().replace("ganzoo_foo", "ganzoo_fixture_weights")
    assert documented in (WEIGHTS_FIXTURE / "pyproject.toml").read_text()  # the fixture is the guide's
    wheel, site = wheel_of(tmp_path / "documented", documented)
    names = zipfile.ZipFile(wheel).namelist()
    assert {"ganzoo_fixture_weights/weights/tiny-mlp.ring.safetensors",
            "ganzoo_fixture_weights/cards/tiny-mlp.ring.md"} <= set(names)
    environment = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", WEIGHTS_CHECK], capture_output=True, text=True, env=environment)
    assert done.returncode == 0 and "weights check passed" in done.stdout, done.stderr[-3000:]

    # the tutorial's old packaging: the wheel installs and registers the model, without its weights
    wheel, site = wheel_of(tmp_path / "bare", '[tool.setuptools]\npackages = ["ganzoo_fixture_weights"]\n')
    assert not [name for name in zipfile.ZipFile(wheel).namelist() if name.endswith((".safetensors", ".md"))]
    environment["PYTHONPATH"] = str(site)
    done = subprocess.run([sys.executable, "-c", WEIGHTS_CHECK], capture_output=True, text=True, env=environment)
    assert done.returncode != 0
    (line,) = [line for line in done.stderr.splitlines() if "ContractError" in line]
    assert line.endswith(
        "plugin 'fixture-weights', model 'tiny-mlp': weights tiny-mlp.ring: weights file "
        "'tiny-mlp.ring.safetensors' is not in the installed package 'ganzoo_fixture_weights.weights' "
        "(importlib.resources finds no such file): ship it as package data, in pyproject.toml "
        '[tool.setuptools.package-data] "ganzoo_fixture_weights.weights" = ["*.safetensors"], with '
        "'ganzoo_fixture_weights.weights' in [tool.setuptools] packages")


MISSING = '''
import ganzoo


def model(name, **weights):
    entry = ganzoo.WeightsSpec(tag="mnist", dataset="mnist", sha256="0" * 64, **weights)
    return ganzoo.ModelSpec(name=name, summary="", generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
                            discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator",
                            default_dataset="mnist", weights=(entry,))


@ganzoo.hookimpl
def register_models(register):
    register(model("unshipped", package="ganzoo_plugins.weights", filename="unshipped.mnist.safetensors"))
    register(model("cardless", url="https://example.org/w.safetensors", card="cardless.md",
                   card_package="ganzoo_plugins.model_cards"))
'''


def test_a_weights_file_or_card_missing_from_the_package_fails_in_one_line(plugin_module, use_plugins):
    module = plugin_module(MISSING)
    use_plugins(module)
    plugin = module.replace("_", "-")
    with pytest.raises(ContractError) as caught:
        run_check(plugin, "unshipped", "weights", None)
    message = str(caught.value)
    assert "\n" not in message and "weights file 'unshipped.mnist.safetensors' is not in the installed package " \
        "'ganzoo_plugins.weights'" in message
    assert '[tool.setuptools.package-data] "ganzoo_plugins.weights" = ["*.safetensors"]' in message
    with pytest.raises(ContractError, match=r"card 'cardless.md' is not in the installed package "
                                            r"'ganzoo_plugins.model_cards' .* = \[\"\*\.md\"\]"):
        run_check(plugin, "cardless", "weights", None)
