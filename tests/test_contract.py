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
from pathlib import Path

import pytest
from ganzoo_plugins.datasets.mnist_family import TORCHVISION_CLASSES
from helpers import make_folder, write_tiny_family

import ganzoo
import ganzoo.registry
import ganzoo.testing
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
def test_builtins_pass_the_contract(check, tmp_path):
    if check.kind == "dataset" and check.aspect == "load":
        check = dataclasses.replace(check, root=tiny_root(check, tmp_path))
    if check.kind == "extractor":
        check = dataclasses.replace(check, options=EXTRACTOR_OPTIONS.get(check.name))
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


class Discriminator(nn.Module):
    num_classes = None

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(16, 1)

    def forward(self, x, labels=None):
        return self.net(x.flatten(1)).flatten()


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


def model(name, **config):
    return ganzoo.ModelSpec(name=name, summary="", generator=Generator, discriminator=Discriminator,
                            config={"latent_dim": 4, **config}, default_dataset="")


@ganzoo.hookimpl
def register_models(register):
    register(model("unsquashed", squash=False))
    register(model("spare-parts", unused=True))


@ganzoo.hookimpl
def register_losses(register):
    register(ganzoo.LossSpec(name="flipped", summary="", builder=FlippedLoss))
    register(ganzoo.LossSpec(name="vector", summary="", builder=VectorLoss))


@ganzoo.hookimpl
def register_datasets(register):
    register(ganzoo.DatasetSpec(name="wrong-shape", summary="", loader=load_wrong_shape, sample_shape=(2,),
                                embedded=True))
    register(ganzoo.DatasetSpec(name="files", summary="", loader=load_anything, sample_shape=(1, 4, 4)))
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


def test_a_parameter_without_gradient_fails(broken):
    message = failure(broken, "model", "spare-parts", "gradients")
    assert "generator.spare.weight gets no gradient" in message


def test_a_model_that_does_not_fit_the_datasets_it_claims_fails(broken):
    # datasets=() claims "any dataset of the right shape", but this generator makes 1x4x4 samples only
    message = failure(broken, "model", "spare-parts", "datasets")
    assert "on dataset 'fashion-mnist': generator.sample_shape is (1, 4, 4), expected (1, 28, 28)" in message
    ganzoo.testing.check_loss("hinge")  # a sound record passes in the same registry


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
