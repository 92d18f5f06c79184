"""The built-in plugins pass ``ganzoo.testing``'s contract checks, and the checks catch broken plugins.

The first test is parametrised over the whole registry, exactly as a plugin author's
one-line test is parametrised over their plugin: a built-in added to DEFAULT_PLUGINS is
checked here with no new test code. Datasets that need files get tiny ones made here
(IDX files for the MNIST family, a few PNGs for image folders); CelebA's layout is
torchvision's, with checksummed files we cannot make, so its shape check is left out of the
run below (a plugin author's run would skip it with that reason, which
``test_a_file_dataset_without_root_is_skipped_with_the_reason`` checks); its missing-data check
still runs, and tests/test_datasets.py covers the rest.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from ganzoo_plugins.datasets.mnist_family import TORCHVISION_CLASSES
from helpers import make_folder, write_tiny_family
from typer.testing import CliRunner

import ganzoo
import ganzoo.registry.catalog
import ganzoo.testing
from ganzoo.cli.app import build_app
from ganzoo.errors import GanzooError
from ganzoo.testing import Check, ContractError

CHECKS = ganzoo.testing.contract_checks()
NEEDS_REAL_FILES = {"dataset:celeba:load"}
RUNNABLE = [c for c in CHECKS if c.id not in NEEDS_REAL_FILES]


def tiny_root(check: Check, tmp_path: Path) -> str | None:
    """A folder with a few files of the dataset ``check`` loads, for the built-ins that need files."""
    if check.name in TORCHVISION_CLASSES:
        write_tiny_family(tmp_path, check.name)
        return str(tmp_path)
    if check.name == "image-folder":
        return str(make_folder(tmp_path / "images"))
    return None


EXTRACTOR_OPTIONS = {"inception-v3": {"weights": None}}
"""Inception's ImageNet weights are not on a test machine: its plumbing is checked with random ones."""


@pytest.mark.parametrize("check", RUNNABLE, ids=[c.id for c in RUNNABLE])
def test_builtins_pass_the_contract(check, tmp_path, request, monkeypatch):
    if check.kind == "dataset" and check.aspect == "load":
        check = dataclasses.replace(check, root=tiny_root(check, tmp_path))
    if check.kind == "extractor":
        options = EXTRACTOR_OPTIONS.get(check.name)
        if check.name == "fid-inception":  # random weights of its shapes, their digest injected for the test,
            options = {"weights_path": request.getfixturevalue("fid_weights")}  # and a smaller input: the contract
            monkeypatch.setattr("ganzoo_plugins.extractors.fid_inception.INPUT_SIZE", 96)  # is shapes, determinism
        check = dataclasses.replace(check, options=options)
    check(tmp_path)


def test_every_builtin_record_is_checked():
    ids = {c.id for c in CHECKS}
    for name in ganzoo.list_models():
        assert {f"model:{name}:{a}" for a in ("build", "datasets", "gradients", "train")} <= ids
    assert {f"loss:{name}:values" for name in ganzoo.list_losses()} <= ids
    assert {f"dataset:{name}:load" for name in ganzoo.list_datasets()} <= ids
    assert "dataset:mnist:missing-data" in ids and "dataset:ring-8:missing-data" not in ids
    assert {f"extractor:{name}:{a}" for name in ganzoo.list_extractors() for a in ("build", "features",
                                                                                 "deterministic")} <= ids


def test_plugin_selection_by_name_module_or_distribution():
    by_name = {c.id for c in ganzoo.testing.contract_checks("losses")}
    assert by_name == {f"loss:{n}:values" for n in ganzoo.list_losses()}
    assert {c.id for c in ganzoo.testing.contract_checks("ganzoo_plugins.losses")} == by_name
    assert {c.plugin for c in ganzoo.testing.contract_checks("ganzoo")} >= {"mlp-gan", "losses", "datasets"}
    with pytest.raises(GanzooError, match=r"no loaded plugin is called 'ganzoo-nothing'.*installed"):
        ganzoo.testing.contract_checks("ganzoo-nothing")


# --- the checks fail, and say where --------------------------------------------------------------------------

BROKEN = '''
import torch
from torch import nn
import ganzoo
from ganzoo.data import SampleSet


class Generator(nn.Module):
    num_classes = None

    def __init__(self, latent_dim=4, squash=True, unused=False):
        super().__init__()
        self.latent_dim, self.sample_shape, self.squash = latent_dim, (1, 4, 4), squash
        self.net = nn.Linear(latent_dim, 16)
        self.spare = nn.Linear(2, 2) if unused else None

    def forward(self, z, labels=None):
        x = self.net(z) * 10
        return (torch.tanh(x) if self.squash else x).reshape(-1, 1, 4, 4)


class FixedGenerator(Generator):
    """Takes a sample_shape key, as a model of any shape does, but always makes 1x4x4 samples."""

    def __init__(self, latent_dim=4, sample_shape=(1, 4, 4), small=False):
        super().__init__(latent_dim, squash=not small)
        self.small = small

    def forward(self, z, labels=None):
        if self.small:  # no Tanh: in range at N(0, I) latents, unbounded beyond
            return (self.net(z) * 0.01).reshape(-1, 1, 4, 4)
        return super().forward(z, labels)


class MetaShyGenerator(Generator):
    """Reads a value in ``__init__``: fine on the CPU, impossible on the meta device ganzoo.load builds on first."""

    def __init__(self, latent_dim=4):
        super().__init__(latent_dim)
        self.scale = float(torch.ones(1).sum().item())


class Discriminator(nn.Module):
    num_classes = None

    def __init__(self, head="logit"):
        super().__init__()
        self.net, self.head = nn.Linear(16, 1), head

    def forward(self, x, labels=None):
        out = self.net(x.flatten(1))
        if self.head == "sigmoid":
            return torch.sigmoid(out).flatten()
        if self.head == "column":
            return out
        if self.head == "unflattened":
            return out.reshape(-1, 1, 1, 1)
        return out.flatten()


class FlippedLoss:
    name, d_steps = "flipped", 1

    def discriminator_loss(self, real, fake):
        return real.float().mean() - fake.float().mean()

    def generator_loss(self, fake):
        return -fake.float().mean()


class VectorLoss(FlippedLoss):
    def discriminator_loss(self, real, fake):
        return fake.float().flatten() - real.float().flatten()


class Extractor:
    name, weights_sha256, input_note = "misnamed", "0" * 64, "any size, pooled"

    def __init__(self, name, net=None):
        self.name, self.net = name, net

    def features(self, x):
        pooled = torch.nn.functional.adaptive_avg_pool2d(x.mean(1, keepdim=True), 4).flatten(1)
        return self.net(pooled) if self.net is not None else pooled


class FlatExtractor(Extractor):
    def features(self, x):
        return super().features(x).mean(1)


def build_extractor(name, device="cpu"):
    nets = {"dropout": nn.Dropout(0.5), "batch-stats": nn.BatchNorm1d(16)}  # both left in training mode
    if name == "weightless":
        raise ganzoo.WeightsError("weightless weights are not in the cache")
    kind = FlatExtractor if name == "flat" else Extractor
    return kind("wrong-name" if name == "misnamed" else name, nets.get(name))


@ganzoo.hookimpl
def register_feature_extractors(register):
    for name in ("misnamed", "flat", "dropout", "batch-stats", "weightless"):
        register(ganzoo.ExtractorSpec(name=name, summary="", builder=lambda device="cpu", name=name:
                                      build_extractor(name, device)))


def load_wrong_shape(split="train"):
    return SampleSet(torch.zeros(5, 3), name="wrong-shape")


def load_anything(root=None, split="train"):
    return SampleSet(torch.zeros(5, 1, 4, 4, dtype=torch.uint8), name="files")


def load_wide_points(split="train"):
    angle = torch.linspace(0, 3.1416, 50)
    return SampleSet(torch.stack([angle.cos() - 0.5, angle.sin()], dim=1) * 0.8, name="wide-points")  # x to -1.2


def model(name, generator=Generator, sample_shapes=(), **config):
    return ganzoo.ModelSpec(name=name, summary="", generator=generator, discriminator=Discriminator,
                            config={"latent_dim": 4, **config}, default_dataset="", sample_shapes=sample_shapes)


@ganzoo.hookimpl
def register_models(register):
    register(model("unsquashed", squash=False))
    register(model("spare-parts", unused=True))
    register(model("any-shape", FixedGenerator, sample_shape=(1, 4, 4)))
    register(model("misdeclared", sample_shapes=("1x28x28",)))
    register(model("declared", sample_shapes=((1, 4, 4),)))
    register(model("unbounded", FixedGenerator, sample_shapes=("1x4x4",), small=True))
    register(model("sigmoid-d", sample_shapes=("1x4x4",), head="sigmoid"))
    register(model("column-d", sample_shapes=("1x4x4",), head="column"))
    register(model("unflattened", sample_shapes=("1x4x4",), head="unflattened"))
    register(model("meta-shy", MetaShyGenerator, sample_shapes=("1x4x4",)))


@ganzoo.hookimpl
def register_losses(register):
    register(ganzoo.LossSpec(name="flipped", summary="", builder=FlippedLoss))
    register(ganzoo.LossSpec(name="vector", summary="", builder=VectorLoss))


@ganzoo.hookimpl
def register_datasets(register):
    register(ganzoo.DatasetSpec(name="wrong-shape", summary="", loader=load_wrong_shape, sample_shape=(2,),
                                embedded=True))
    register(ganzoo.DatasetSpec(name="files", summary="", loader=load_anything, sample_shape=(1, 4, 4)))
    register(ganzoo.DatasetSpec(name="wide-points", summary="", loader=load_wide_points, sample_shape=(2,),
                                embedded=True))
'''


@pytest.fixture
def broken(plugin_module, use_plugins) -> str:
    """A registry with the built-ins and a plugin whose every record breaks the contract; its plugin name."""
    module = plugin_module(BROKEN)
    use_plugins(module)
    return module.replace("_", "-")


def failure(plugin: str, kind: str, name: str, aspect: str) -> str:
    check = next(c for c in ganzoo.testing.contract_checks(plugin) if c.id == f"{kind}:{name}:{aspect}")
    with pytest.raises(ContractError) as caught:
        check()
    message = str(caught.value)
    label = "feature extractor" if kind == "extractor" else kind
    assert message.startswith(f"plugin {plugin!r}, {label} {name!r}: "), message
    return message


def test_images_outside_the_unit_range_fail(broken):
    assert "images must lie in [-1, 1]" in failure(broken, "model", "unsquashed", "build")


def test_a_generator_that_cannot_be_built_on_the_meta_device_fails(broken):
    message = failure(broken, "model", "meta-shy", "build")
    assert "the generator does not build on the meta device" in message and "ganzoo.load builds it there" in message


def test_a_parameter_without_gradient_fails(broken):
    message = failure(broken, "model", "spare-parts", "gradients")
    assert "generator.spare.weight gets no gradient" in message


def test_a_model_that_takes_a_sample_shape_key_but_makes_one_shape_fails_with_the_fix(broken):
    # a 'sample_shape' config key means "any shape", so every dataset is claimed, but this generator makes 1x4x4 only
    message = failure(broken, "model", "any-shape", "datasets")
    assert "on dataset 'fashion-mnist': generator.sample_shape is (1, 4, 4), expected (1, 28, 28)" in message
    assert "declares them, e.g. sample_shapes=(" in message
    ganzoo.testing.check_loss("hinge")  # a sound record passes in the same registry


def test_a_model_that_declares_nothing_trains_on_nothing_and_is_told_how_to_declare(broken):
    assert not [d for d in ganzoo.list_datasets() if ganzoo.get_model_spec("spare-parts").trains_on(d)]
    message = failure(broken, "model", "spare-parts", "datasets")
    assert "no registered dataset matches what it trains on (nothing declared: " in message
    assert "sample_shapes=('1x28x28',)" in message


def test_declared_sample_shapes_choose_the_datasets_in_info_and_the_contract(broken):
    spec = ganzoo.get_model_spec("declared")
    assert spec.sample_shapes == ("1x4x4",)
    assert ganzoo.testing.model_datasets(spec) == ["files"]
    info = CliRunner().invoke(build_app(), ["info", "declared", "--json"])
    assert info.exit_code == 0, info.output
    assert json.loads(info.output)["datasets"] == ["files"] and json.loads(info.output)["sample_shapes"] == ["1x4x4"]
    data = json.loads(CliRunner().invoke(build_app(), ["info", "files", "--json"]).output)
    assert "declared" in data["models"] and "misdeclared" not in data["models"]
    for aspect in ("build", "datasets"):
        next(c for c in ganzoo.testing.contract_checks(broken) if c.id == f"model:declared:{aspect}")()


def test_a_generator_outside_its_declared_sample_shapes_fails(broken):
    message = failure(broken, "model", "misdeclared", "build")
    assert "generator.sample_shape is 1x4x4, which its sample_shapes (1x28x28) do not admit" in message


def test_an_image_generator_without_a_bounded_output_fails(broken):
    message = failure(broken, "model", "unbounded", "build")
    # in range at N(0, I) latents (the shape check passes), out of range further out
    assert "images must lie in [-1, 1] for every latent: on N(0, I) latents times 100 " in message
    assert "(end it with Tanh)" in message


def test_a_discriminator_that_returns_a_sigmoid_fails(broken):
    message = failure(broken, "model", "sigmoid-d", "build")
    assert "all lie in [0, 1], the signature of a sigmoid: return the raw logit" in message


def test_a_discriminator_may_return_n_by_1_but_no_other_shape(broken, tmp_path):
    for aspect in ("build", "gradients", "train"):  # (N, 1) trains through the real trainer
        next(c for c in ganzoo.testing.contract_checks(broken) if c.id == f"model:column-d:{aspect}")(tmp_path)
    message = failure(broken, "model", "unflattened", "build")
    assert "discriminator output has shape (3, 1, 1, 1), expected (3,) or (3, 1): one logit per sample" in message


def test_a_dataset_outside_the_value_range_fails(broken):
    message = failure(broken, "dataset", "wide-points", "load")
    assert "float samples in [-1.2, 0.8]; float samples must lie in [-1, 1], the range of a Tanh generator" in message


def test_a_loss_with_the_wrong_sign_fails(broken):
    assert "must fall as real logits rise" in failure(broken, "loss", "flipped", "values")


def test_a_loss_that_is_not_a_scalar_fails(broken):
    assert "must be a scalar tensor (shape ()), got (4,)" in failure(broken, "loss", "vector", "values")


def test_a_dataset_of_another_shape_fails(broken):
    assert "has samples of shape (3,), declared (2,)" in failure(broken, "dataset", "wrong-shape", "load")


def test_a_file_dataset_that_loads_from_nothing_fails(broken):
    assert "loading from an empty folder succeeded" in failure(broken, "dataset", "files", "missing-data")


def test_a_file_dataset_without_root_is_skipped_with_the_reason(broken):
    check = next(c for c in ganzoo.testing.contract_checks(broken) if c.id == "dataset:files:load")
    with pytest.raises(pytest.skip.Exception, match=r"needs external data files.*data_roots"):
        check()
    dataclasses.replace(check, root="anywhere")()  # given a root, it loads and passes


def test_an_extractor_must_carry_its_registered_name(broken):
    assert "name is 'wrong-name'; it must be the registered name" in failure(broken, "extractor", "misnamed", "build")


def test_extractor_features_must_be_n_by_d(broken):
    message = failure(broken, "extractor", "flat", "features")
    assert "on samples of shape (N, 1, 28, 28): " in message and "it must return (N, D)" in message


def test_extractor_features_must_not_change_between_calls_or_batches(broken):
    assert "different features for the same images" in failure(broken, "extractor", "dropout", "deterministic")
    message = failure(broken, "extractor", "batch-stats", "deterministic")
    assert "depend on the other images in its batch" in message
    ganzoo.testing.check_extractor("random-conv")  # a sound record passes in the same registry


def test_an_extractor_without_its_weights_is_skipped_with_the_reason(broken):
    check = next(c for c in ganzoo.testing.contract_checks(broken) if c.id == "extractor:weightless:features")
    with pytest.raises(pytest.skip.Exception, match=r"its weights are not here.*not in the cache"):
        check()


def test_check_model_runs_every_aspect(tmp_path):
    ganzoo.testing.check_model("mlp-gan", out=tmp_path)
    assert (tmp_path / "mlp-gan" / "export" / "model.safetensors").is_file()
