"""What is particular to r3gan; the registry-wide tests (contract, models, deploy, hubconf) cover the rest.

The recipe's claims checked here: each residual block is the identity at step 0 (fix-up init with the last
convolution of the branch at zero), no normalisation layer anywhere, the variance-scaled init of the other
layers, resampling by a fixed filter (no weights in the file), both layouts' shapes, gradients reaching every
parameter once the zero layers have moved, and one-line errors for options that do not fit.
"""

from __future__ import annotations

import math

import pytest
import torch
from ganzoo_plugins.r3gan.nets import R3Discriminator, R3Generator, ResidualBlock
from torch import nn

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.registry.records import call_with_accepted
from ganzoo.testing.models import unreached_parameters
from ganzoo.training.config import model_config_for

SPEC = ganzoo.get_model_spec("r3gan")


def build(**options):
    config = model_config_for(SPEC, options)
    networks = (SPEC.generator, SPEC.discriminator)
    return tuple(call_with_accepted(n, config, shared_with=networks) for n in networks)


def test_mnist_layout_shapes():
    generator, discriminator = build()
    torch.manual_seed(0)
    images = generator(torch.randn(5, generator.latent_dim))
    assert images.shape == (5, 1, 28, 28) and generator.sample_shape == (1, 28, 28)
    assert images.abs().max() <= 1
    assert discriminator(images).shape == (5,)


def test_faces_layout_shapes_and_preset():
    generator, discriminator = build(image_size=64)
    assert generator.sample_shape == (3, 64, 64) == discriminator.sample_shape
    images = generator(torch.randn(2, generator.latent_dim))
    assert images.shape == (2, 3, 64, 64)
    assert discriminator(images).shape == (2,)
    assert generator.basis.shape[-2:] == (4, 4)  # five stages: 4 -> 8 -> 16 -> 32 -> 64


def test_each_residual_block_is_the_identity_at_step_zero():
    generator, discriminator = build()
    blocks = [m for net in (generator, discriminator) for m in net.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 6  # one per stage, three stages each
    torch.manual_seed(1)
    for block in blocks:
        width = block.expand.in_channels
        x = torch.randn(2, width, 7, 7)
        assert torch.equal(block(x), x)
        assert torch.count_nonzero(block.project.weight) == 0


def test_no_normalisation_layers_and_no_fixed_filter_in_the_weights():
    generator, discriminator = build()
    norms = (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)
    for net in (generator, discriminator):
        assert not [m for m in net.modules() if isinstance(m, norms)]
        assert not [k for k in net.state_dict() if "kernel" in k]  # the low-pass filter is a non-persistent buffer


def test_variance_scaled_init_of_the_branch_layers():
    torch.manual_seed(0)
    block = ResidualBlock(256, expansion=2, group_size=16, total_blocks=16)
    gain = math.sqrt(2 / (1 + 0.2**2)) * 16 ** (-1 / 4)
    assert block.mix.groups == 512 // 16
    for layer, fan_in in ((block.expand, 256), (block.mix, 16 * 9)):
        assert layer.weight.std().item() == pytest.approx(gain / math.sqrt(fan_in), rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0


def test_gradients_reach_every_parameter_after_one_update():
    """At step 0 only the zero layers get gradients inside a branch; after they move, every parameter does."""
    torch.manual_seed(0)
    generator, discriminator = build()
    parameters = list(generator.parameters()) + list(discriminator.parameters())
    optimizer = torch.optim.SGD(parameters, lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        discriminator(generator(torch.randn(4, generator.latent_dim))).mean().backward()
        missing = [n for net in (generator, discriminator) for n, p in net.named_parameters()
                   if p.grad is None or not torch.isfinite(p.grad).all()]
        assert not missing
        optimizer.step()
    silent = [n for net in (generator, discriminator) for n, p in net.named_parameters() if p.grad.abs().sum() == 0]
    assert not silent


def test_widths_option_from_the_command_line_and_its_errors():
    generator, _ = build(widths="64,32,16", blocks=2)
    assert generator.basis.shape == (64, 7, 7)
    assert sum(isinstance(m, ResidualBlock) for m in generator.modules()) == 6
    with pytest.raises(ConfigError, match="widths must be comma-separated"):
        R3Generator(widths="64;32")
    with pytest.raises(ConfigError, match="4 stages do not fit image_size=28"):
        R3Discriminator(widths="64,64,32,16")
    with pytest.raises(ConfigError, match="group_size=24 must divide"):
        R3Generator(group_size=24)
    with pytest.raises(ConfigError, match="image_size must be one of 28, 64"):
        R3Generator(image_size=32)
    with pytest.raises(ConfigError, match="expansion must be a positive integer"):
        R3Discriminator(expansion=0)


def test_spec_declares_the_recipe_defaults():
    assert SPEC.default_loss == "relativistic"
    assert SPEC.hyperparameters["betas"][0] == 0.0


def test_the_gradient_check_tells_a_zero_initialised_branch_from_an_unused_parameter():
    """The contract allows an all-zero gradient at step 0 only behind a zero layer, and leaves the networks as found."""
    torch.manual_seed(0)
    generator, discriminator = build()
    assert unreached_parameters(generator, discriminator) == []
    generator.unused = nn.Parameter(torch.zeros(3))
    discriminator.frozen_path = nn.Parameter(torch.ones(2))
    assert unreached_parameters(generator, discriminator) == ["discriminator.frozen_path", "generator.unused"]
    blocks = [m for net in (generator, discriminator) for m in net.modules() if isinstance(m, ResidualBlock)]
    assert all(torch.count_nonzero(block.project.weight) == 0 for block in blocks)
    assert all(p.grad is None for net in (generator, discriminator) for p in net.parameters())


@pytest.mark.parametrize("image_size,patch,widths", [(28, 2, "96,48"), (28, 4, "64"), (64, 2, "64,64,32,16"),
                                                     (64, 4, "64,32,16")])
def test_patch_folds_pixels_into_channels_losslessly(image_size, patch, widths):
    """patch=p: both networks work at image_size/p; G unfolds p*p maps per channel, D folds them back."""
    torch.manual_seed(0)
    generator, discriminator = build(image_size=image_size, patch=patch, widths=widths, expansion=1)
    channels = generator.sample_shape[0]
    assert generator.to_image.out_channels == channels * patch**2 == discriminator.from_image.in_channels
    assert generator.basis.shape[-1] == image_size // patch // 2 ** (len(widths.split(",")) - 1)
    images = generator(torch.randn(3, generator.latent_dim))
    assert images.shape == (3, channels, image_size, image_size)
    assert discriminator(images).shape == (3,)
    # the fold is a permutation: D's first layer sees every pixel of each patch once
    folded = torch.nn.functional.pixel_unshuffle(images, patch)
    assert torch.equal(torch.nn.functional.pixel_shuffle(folded, patch), images)


@pytest.mark.parametrize("image_size", [28, 64])
@pytest.mark.parametrize(("patch", "widths"), [(2, "128,64"), (4, "128")])
def test_patch_alone_brings_widths_that_fit_unless_widths_are_given(image_size, patch, widths):
    generator, discriminator = build(image_size=image_size, patch=patch)
    assert generator.to_image.in_channels == int(widths.split(",")[-1])
    assert discriminator(generator(torch.randn(2, generator.latent_dim))).shape == (2,)
    given, _ = build(image_size=image_size, patch=patch, widths="32,16" if patch == 2 else "16")
    assert given.to_image.in_channels == 16


def test_patch_errors_name_the_option_and_what_fits():
    with pytest.raises(ConfigError, match="patch must be one of 1, 2, 4 for image_size=28, got 3"):
        R3Generator(patch=3)
    with pytest.raises(ConfigError, match="3 stages do not fit image_size=28 folded by patch=2"):
        R3Discriminator(patch=2, widths="64,32,16")
