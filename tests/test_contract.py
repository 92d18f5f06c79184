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


@pytest.mark.parametrize("check", RUNNABLE, ids=[c.id for c in RUNNABLE])
def test_builtins_pass_the_contract(check, tmp_path):
    if check.kind == "dataset" and check.aspect == "load":
        check = dataclasses.replace(check, root=tiny_root(check, tmp_path))
    check(tmp_path)


def test_every_builtin_record_is_checked():
    ids = {c.id for c in CHECKS}
    for name in ganzoo.list_models():
        assert {f"model:{name}:{a}" for a in ("build", "datasets", "gradients", "train")} <= ids
    assert {f"loss:{name}:values" for name in ganzoo.list_losses()} <= ids
    assert {f"dataset:{name}:load" for name in ganzoo.list_datasets()} <= ids
    assert "dataset:mnist:missing-data" in ids and "dataset:ring-8:missing-data" not in ids


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
    assert message.startswith(f"plugin {plugin!r}, {kind} {name!r}: "), message
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


def test_check_model_runs_every_aspect(tmp_path):
    ganzoo.testing.check_model("mlp-gan", out=tmp_path)
    assert (tmp_path / "mlp-gan" / "export" / "model.safetensors").is_file()
