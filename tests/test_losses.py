"""The built-in losses against hand-computed values, their sign conventions and the WGAN-GP penalty."""

from __future__ import annotations

import math

import pytest
import torch
from ganzoo_plugins.losses.functions import WGANGPLoss
from torch import nn

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.nn import interpolate_gradient_norms
from ganzoo.registry.loss_calls import generator_loss, generator_loss_takes_real_logits

LOSSES = ganzoo.list_losses()

LOG2 = math.log(2.0)
SOFTPLUS_2 = math.log1p(math.exp(2.0))  # log(1 + e^2)  = 2.126928
SOFTPLUS_M2 = math.log1p(math.exp(-2.0))  # log(1 + e^-2) = 0.126928

REAL = torch.tensor([0.0, 2.0])
FAKE_FOR_D = torch.tensor([0.0, -2.0])
FAKE_FOR_G = torch.tensor([0.0, 2.0])

# name: (D loss on REAL / FAKE_FOR_D, G loss on FAKE_FOR_G), worked out by hand from each LossSpec's formula.
HAND_COMPUTED = {
    # D: mean(-log sigmoid(r)) + mean(-log(1 - sigmoid(f))) = (log2 + sp(-2))/2 + (log2 + sp(-2))/2
    # G: mean(log(1 - sigmoid(f))) = -(log2 + sp(2))/2
    "minimax": (LOG2 + SOFTPLUS_M2, -(LOG2 + SOFTPLUS_2) / 2),
    # G: mean(-log sigmoid(f)) = (log2 + sp(-2))/2
    "non-saturating": (LOG2 + SOFTPLUS_M2, (LOG2 + SOFTPLUS_M2) / 2),
    # D: 1/2 mean((r-1)^2) + 1/2 mean(f^2) = 1/2 * (1+1)/2 + 1/2 * (0+4)/2;  G: 1/2 mean((f-1)^2) = 1/2
    "least-squares": (1.5, 0.5),
    # D: mean(relu(1-r)) + mean(relu(1+f)) = (1+0)/2 + (1+0)/2;  G: -mean(f) = -1
    "hinge": (1.0, -1.0),
    # D: mean(f) - mean(r) = -1 - 1;  G: -mean(f) = -1
    "wgan-gp": (-2.0, -1.0),
    # RpGAN, pairs (r_i, f_i): D: mean(sp(-(r - f))) = (sp(0) + sp(-4))/2; G with real logits REAL: f - r = 0, 0
    "relativistic": ((LOG2 + math.log1p(math.exp(-4.0))) / 2, LOG2),
    # RaGAN: mean f = -1, mean r = 1: D: mean sp(-(r + 1)) + mean sp(f - 1) = 2 * (sp(-1) + sp(-3))/2;
    # G (fakes [0, 2], reals [0, 2], both means 1): mean sp(-(f - 1)) + mean sp(r - 1) = sp(1) + sp(-1)
    "relativistic-average": (
        math.log1p(math.exp(-1.0)) + math.log1p(math.exp(-3.0)),
        math.log1p(math.exp(1.0)) + math.log1p(math.exp(-1.0)),
    ),
}
RELATIVISTIC = ("relativistic", "relativistic-average")


def build(name: str, **options):
    return ganzoo.get_loss_spec(name).build(**options)


def g_loss(loss, fake, real=None):
    """G's loss as the trainer calls it: relativistic losses also get real logits (here: REAL, or zeros)."""
    return generator_loss(loss, fake, torch.zeros_like(fake) if real is None else real)


def test_hand_computed_table_covers_the_built_in_losses():
    builtin = [n for n in LOSSES if ganzoo.get_loss_spec(n).builder.startswith("ganzoo_plugins.")]
    assert sorted(builtin) == sorted(HAND_COMPUTED)


@pytest.mark.parametrize("name", sorted(HAND_COMPUTED))
def test_values_match_hand_computation(name):
    loss = build(name)
    d_expected, g_expected = HAND_COMPUTED[name]
    assert loss.discriminator_loss(REAL, FAKE_FOR_D).item() == pytest.approx(d_expected, abs=1e-6)
    assert g_loss(loss, FAKE_FOR_G, REAL).item() == pytest.approx(g_expected, abs=1e-6)


def test_literal_numbers_of_the_bce_losses():
    # The same hand computation as plain numbers, so a wrong constant above cannot hide an error.
    assert build("non-saturating").discriminator_loss(REAL, FAKE_FOR_D).item() == pytest.approx(0.820075, abs=1e-6)
    assert build("non-saturating").generator_loss(FAKE_FOR_G).item() == pytest.approx(0.410038, abs=1e-6)
    assert build("minimax").generator_loss(FAKE_FOR_G).item() == pytest.approx(-1.410038, abs=1e-6)


def test_bce_losses_agree_with_probability_formulas():
    real = torch.tensor([-1.5, -0.2, 0.3, 2.5])
    fake = torch.tensor([-2.0, -0.7, 0.1, 1.2])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    d_expected = -(d_real.log().mean() + (1 - d_fake).log().mean())
    for name in ("minimax", "non-saturating"):
        assert build(name).discriminator_loss(real, fake).item() == pytest.approx(d_expected.item(), rel=1e-5)
    assert build("minimax").generator_loss(fake).item() == pytest.approx((1 - d_fake).log().mean().item(), rel=1e-5)
    assert build("non-saturating").generator_loss(fake).item() == pytest.approx(-d_fake.log().mean().item(), rel=1e-5)


@pytest.mark.parametrize("name", LOSSES)
def test_protocol_name_and_d_steps(name):
    loss = build(name)
    assert isinstance(loss, ganzoo.Loss)
    assert loss.name == name
    assert loss.d_steps == (5 if name == "wgan-gp" else 1)


@pytest.mark.parametrize("name", LOSSES)
def test_sign_conventions(name):
    """D's loss falls as real logits rise and fake logits fall; G's falls as fake logits rise."""
    loss = build(name)
    # Inside (-1, 1) every built-in loss is strictly monotone in these directions (LSGAN needs fake > 0).
    real = torch.tensor([-0.5, 0.1, 0.5], requires_grad=True)
    fake = torch.tensor([0.1, 0.3, 0.5], requires_grad=True)
    loss.discriminator_loss(real, fake).backward()
    assert (real.grad < 0).all(), real.grad
    assert (fake.grad > 0).all(), fake.grad
    fake_g = fake.detach().clone().requires_grad_(True)
    g_loss(loss, fake_g).backward()
    assert (fake_g.grad < 0).all(), fake_g.grad


@pytest.mark.parametrize("name", LOSSES)
def test_shapes_n_and_n1_agree_and_give_float32_scalars(name):
    loss = build(name)
    real = torch.tensor([0.3, -1.2, 2.0, 0.0])
    fake = torch.tensor([-0.4, 0.9, 0.2, -3.0])
    d_flat = loss.discriminator_loss(real, fake)
    g_flat = g_loss(loss, fake)
    assert d_flat.shape == () and g_flat.shape == ()
    assert torch.equal(d_flat, loss.discriminator_loss(real[:, None], fake[:, None]))
    assert torch.equal(g_flat, g_loss(loss, fake[:, None]))
    low = loss.discriminator_loss(real.bfloat16(), fake.bfloat16())
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(d_flat.item(), abs=0.05)


@pytest.mark.parametrize("name", ["minimax", "non-saturating"])
def test_extreme_logits_stay_finite(name):
    loss = build(name)
    big = torch.tensor([100.0, -100.0, 80.0], requires_grad=True)
    d = loss.discriminator_loss(big, -big)
    g = loss.generator_loss(big)
    assert torch.isfinite(d) and torch.isfinite(g)
    # D is very wrong on the second sample of each: -log sigmoid(-100) = 100 (Sigmoid + BCELoss clamps to 100 too,
    # but its gradient there is 0).
    assert d.item() == pytest.approx(2 * 100 / 3, rel=1e-4)
    d.backward()
    assert torch.isfinite(big.grad).all()


def test_non_saturating_keeps_its_gradient_where_minimax_saturates():
    """The reason the non-saturating loss exists: a confidently rejected fake still gets a push."""
    rejected = torch.tensor([-20.0], requires_grad=True)
    build("non-saturating").generator_loss(rejected).backward()
    assert rejected.grad.item() == pytest.approx(-1.0, abs=1e-6)
    rejected.grad = None
    build("minimax").generator_loss(rejected).backward()
    assert abs(rejected.grad.item()) < 1e-8


def test_d_steps_validated():
    with pytest.raises(ConfigError, match="d_steps"):
        WGANGPLoss(d_steps=0)
    assert build("wgan-gp", d_steps=3).d_steps == 3


# --- WGAN-GP penalty -------------------------------------------------------------------------------------------


class LinearCritic(nn.Module):
    """D(x) = <w, flatten(x)> + b: its input gradient is w everywhere, so the penalty is known exactly."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight.clone())
        self.bias = nn.Parameter(torch.tensor(0.5))
        self.seen_labels = None

    def forward(self, x, labels=None):
        self.seen_labels = labels
        return x.flatten(1) @ self.weight + self.bias


def test_penalty_of_a_linear_critic_is_exact_and_differentiable():
    torch.manual_seed(0)
    shape = (2, 3, 3)
    weight = torch.zeros(18)
    weight[0], weight[5] = 2.0, math.sqrt(5.0)  # ||w|| = 3
    critic = LinearCritic(weight)
    real, fake = torch.randn(4, *shape), torch.randn(4, *shape)
    loss = WGANGPLoss()
    penalty = loss.penalty(critic, real, fake)
    assert penalty.item() == pytest.approx(10.0 * (3.0 - 1.0) ** 2, rel=1e-6)
    penalty.backward()  # create_graph=True: the penalty reaches D's weights
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    assert torch.allclose(critic.weight.grad, 20 * 2.0 * weight / 3.0, atol=1e-5)
    assert WGANGPLoss(gp_weight=2.5).penalty(critic, real, fake).item() == pytest.approx(2.5 * 4.0, rel=1e-6)


def test_interpolate_gradient_norms_of_a_linear_critic_are_its_weight_norm_per_sample():
    weight = torch.zeros(18)
    weight[0], weight[5] = 2.0, math.sqrt(5.0)  # ||w|| = 3
    norms = interpolate_gradient_norms(LinearCritic(weight), torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3))
    assert norms.shape == (4,) and torch.allclose(norms, torch.full((4,), 3.0))
    assert norms.requires_grad  # the graph is kept: a penalty on the norms reaches D's weights


def test_penalty_norm_is_per_sample_over_all_non_batch_dimensions():
    """With D(x) = |x|^2 / 2 the gradient is x; real == fake pins x_hat = x whatever alpha is."""

    class Quadratic(nn.Module):
        def forward(self, x, labels=None):
            return 0.5 * x.square().flatten(1).sum(1)

    ones = torch.ones(2, 3, 3)
    x = torch.stack([ones * 2.0 / math.sqrt(18), ones * 0.5 / math.sqrt(18)])  # norms 2 and 0.5
    penalty = WGANGPLoss().penalty(Quadratic(), x, x.clone())
    assert penalty.item() == pytest.approx(10.0 * ((2.0 - 1.0) ** 2 + (0.5 - 1.0) ** 2) / 2, rel=1e-5)


def test_penalty_interpolates_with_one_alpha_per_sample_and_passes_labels():
    torch.manual_seed(1)
    critic = LinearCritic(torch.ones(8))
    inputs = []
    critic.register_forward_hook(lambda module, args, output: inputs.append(args[0].detach()))
    real, fake = torch.zeros(6, 2, 2, 2), torch.ones(6, 2, 2, 2)
    labels = torch.arange(6)
    fake_with_graph = fake.clone().requires_grad_(True)
    WGANGPLoss().penalty(critic, real, fake_with_graph, labels).backward()
    mixed = inputs[0]
    # x_hat = alpha * real + (1 - alpha) * fake = 1 - alpha: constant within each sample, in [0, 1], varying across.
    per_sample = mixed.flatten(1)
    assert torch.equal(per_sample, per_sample[:, :1].expand_as(per_sample))
    assert ((per_sample >= 0) & (per_sample <= 1)).all()
    assert per_sample[:, 0].unique().numel() == 6
    assert critic.seen_labels is labels
    assert fake_with_graph.grad is None  # the penalty trains D only


def test_literal_numbers_of_the_relativistic_losses():
    assert build("relativistic").discriminator_loss(REAL, FAKE_FOR_D).item() == pytest.approx(0.355649, abs=1e-6)
    assert build("relativistic-average").generator_loss(FAKE_FOR_G, REAL).item() == pytest.approx(1.626523, abs=1e-6)


@pytest.mark.parametrize("name", RELATIVISTIC)
def test_relativistic_generator_loss_depends_on_the_real_logits(name):
    """The point of the second argument: the same fakes cost G more when D scores the reals higher."""
    loss = build(name)
    fake = torch.tensor([0.2, -0.4, 1.0])
    assert generator_loss_takes_real_logits(loss)
    low, high = (g_loss(loss, fake, torch.full((3,), value)).item() for value in (-1.0, 1.0))
    assert high > low


def test_relativistic_pairing_refuses_batches_of_different_sizes():
    with pytest.raises(ConfigError, match="same size"):
        build("relativistic").discriminator_loss(torch.zeros(4), torch.zeros(3))


def test_generator_loss_forms_are_told_apart_by_signature():
    class Classic:
        def generator_loss(self, fake_logits):
            return fake_logits.mean()

    class WithOption:
        def generator_loss(self, fake_logits, scale=2.0):
            return scale * fake_logits.mean()

    class Relativistic:
        def generator_loss(self, fake_logits, real_logits):
            return (fake_logits - real_logits).mean()

    class NamedOptional:
        def generator_loss(self, fake_logits, real_logits=None):
            return fake_logits.mean() if real_logits is None else (fake_logits - real_logits).mean()

    fake, real = torch.tensor([1.0, 3.0]), torch.tensor([1.0, 1.0])
    assert [generator_loss_takes_real_logits(x()) for x in (Classic, WithOption, Relativistic, NamedOptional)] == \
        [False, False, True, True]
    assert generator_loss(Classic(), fake, real).item() == 2.0  # called with one argument
    assert generator_loss(WithOption(), fake, real).item() == 4.0  # its option keeps its default
    assert generator_loss(Relativistic(), fake, real).item() == 1.0
    with pytest.raises(ConfigError, match="real logits"):
        generator_loss(Relativistic(), fake)
