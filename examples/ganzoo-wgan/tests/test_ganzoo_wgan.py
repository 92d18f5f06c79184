"""ganzoo-wgan's own tests: ganzoo's contract checks in one line, then what is special to this plugin."""

from __future__ import annotations

import pytest
import torch

import ganzoo
import ganzoo.testing

# Every model, loss and dataset this plugin registers, against ganzoo's contract: one test per aspect.
test_ganzoo_contract = ganzoo.testing.contract_tests("ganzoo-wgan")


def test_records_belong_to_this_plugin():
    assert ganzoo.get_model_spec("wgan-gp-dcgan").plugin == "wgan"
    assert ganzoo.get_loss_spec("wgan-lp").plugin == "wgan"
    assert ganzoo.get_dataset_spec("shapes-28").plugin == "wgan"


def test_shapes_are_the_shapes_their_labels_say():
    data = ganzoo.get_dataset_spec("shapes-28").load(split="test")
    assert data.samples.shape == (1000, 1, 28, 28) and data.samples.dtype == torch.uint8
    assert torch.bincount(data.labels).tolist() == [334, 333, 333]
    ink = data.samples.float().div(255).mean(dim=(1, 2, 3))
    # for the same half-size r: disc pi r^2 > square (1.6 r)^2 > cross (2.04 r^2)
    disc, square, cross = (ink[data.labels == k].mean().item() for k in range(3))
    assert disc > square > cross > 0
    again = ganzoo.get_dataset_spec("shapes-28").load(split="test")
    assert torch.equal(again.samples, data.samples)


def test_lipschitz_penalty_is_one_sided():
    loss = ganzoo.get_loss_spec("wgan-lp").build()

    class Linear(torch.nn.Module):
        def __init__(self, scale: float):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.full((4,), scale))

        def forward(self, x, labels=None):
            return x.flatten(1) @ self.weight

    x = torch.zeros(3, 4)
    assert loss.penalty(Linear(0.25), x, x + 1).item() == 0.0  # gradient norm 0.5: within the constraint
    assert loss.penalty(Linear(1.0), x, x + 1).item() == pytest.approx(10.0 * (2.0 - 1.0) ** 2)


def test_the_critic_has_no_batch_norm():
    gan = ganzoo.create("wgan-gp-dcgan", seed=0)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in gan.discriminator.modules())
    assert gan.sample(2, seed=0).shape == (2, 1, 28, 28)
